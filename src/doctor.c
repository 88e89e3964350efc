/* doctor: `sercom doctor`. See doctor.h. Read-only: it changes nothing,
 * it prints the command that would. The MTA is asked with its own tools
 * (postconf, postmap, postalias: $MAIL_CONFIG selects another postfix
 * instance, as for every postfix command), run with g_spawn and an argv,
 * never through a shell: the course address comes from the config. */
#include "doctor.h"
#include "exercise.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

struct doctor {
	const struct sercom_conf *c;
	int problems;
	char *deliver_user;   /* the user the MTA runs sercom-deliver as; NULL: unknown */
	char *route;          /* how the course address reaches it */
};

static void problem(struct doctor *d, const char *fix, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void problem(struct doctor *d, const char *fix, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	printf("problem: %s\n", what);
	if (fix)
		printf("    fix: %s\n", fix);
	d->problems++;
}

static void okay(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void okay(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	printf("ok: %s\n", what);
}

/* ---- files readable by everyone --------------------------------------- */

static bool others_search(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && (st.st_mode & S_IXOTH);
}

static char *first_readable(const char *path, int depth)
{
	struct stat st;
	if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode))
		return NULL;
	if (!S_ISDIR(st.st_mode))
		return (st.st_mode & S_IROTH) ? g_strdup(path) : NULL;
	if (!(st.st_mode & S_IXOTH))
		return NULL;   /* nothing below can be reached by others */
	if (depth > 32)
		return NULL;
	GDir *dir = g_dir_open(path, 0, NULL);
	if (!dir)
		return NULL;
	char *found = NULL;
	const char *n;
	while (!found && (n = g_dir_read_name(dir))) {
		g_autofree char *p = g_build_filename(path, n, NULL);
		found = first_readable(p, depth + 1);
	}
	g_dir_close(dir);
	/* a listable directory shows the names at least (students' names in
	 * attempts/, the exercises' case names) */
	if (!found && (st.st_mode & S_IROTH))
		found = g_strdup(path);
	return found;
}

char *doctor_world_readable(const char *dir)
{
	g_autofree char *abs = g_canonicalize_filename(dir, NULL);
	/* every ancestor must let others through for anything to be reached */
	for (g_autofree char *up = g_path_get_dirname(abs); strcmp(up, "/");) {
		if (!others_search(up))
			return NULL;
		char *next = g_path_get_dirname(up);
		g_free(up);
		up = next;
	}
	return first_readable(abs, 0);
}

char *doctor_fix_world_readable(const struct sercom_conf *c)
{
	struct stat st;
	g_autofree char *grp = NULL;
	if (stat(c->var, &st) == 0) {
		struct group *g = getgrgid(st.st_gid);
		grp = g ? g_strdup(g->gr_name) : g_strdup_printf("%ld", (long)st.st_gid);
	}
	if (grp)
		return g_strdup_printf("chgrp -R %s %s && chmod -R o-rwx,g+rX %s", grp, c->exercises, c->exercises);
	return g_strdup_printf("chmod -R o-rwx %s", c->exercises);
}

/* ---- config, templates, exercises -------------------------------------- */

static void check_config(struct doctor *d)
{
	const struct sercom_conf *c = d->c;
	okay("config %s loads", c->path);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (g_key_file_load_from_file(kf, c->path, G_KEY_FILE_NONE, NULL) &&
	    !g_key_file_has_key(kf, "mail", "from", NULL)) {
		g_autofree char *fix = g_strdup_printf("in %s, [mail] from = Course Grader <tp@your.domain> "
		                                       "(the address students mail)", c->path);
		problem(d, fix, "[mail] from is not set: replies would come from %s", c->from);
	}
}

static void check_templates(struct doctor *d)
{
	GError *err = NULL;
	if (conf_check_templates(d->c, &err)) {
		okay("templates %s/%s", d->c->templates, d->c->language);
		return;
	}
	g_autofree char *fix = g_strdup_printf("in %s, [general] templates = a directory with %s/ "
	                                       "(the installed ones: /usr/share/sercom/templates) "
	                                       "or language = en|es", d->c->path, d->c->language);
	problem(d, fix, "%s", err->message);
	g_error_free(err);
}

static void check_exercises(struct doctor *d)
{
	const struct sercom_conf *c = d->c;
	g_auto(GStrv) names = exercise_list_names(c);
	if (!*names) {
		g_autofree char *fix = g_strdup_printf("mkdir -p %s && cp -r /usr/share/sercom/conf/exercises/tp1 %s/ "
		                                       "(then edit it; README \"Writing an exercise\")",
		                                       c->exercises, c->exercises);
		problem(d, fix, "no exercise in %s: every submission would be rejected", c->exercises);
	}
	for (char **n = names; *n; n++) {
		GError *err = NULL;
		struct exercise *e = exercise_find(c, *n, &err);
		g_autofree char *fix = g_strdup_printf("edit %s/%s, then sercom exercise check %s", c->exercises, *n, *n);
		if (!e) {
			problem(d, fix, "exercise %s: %s", *n, err->message);
			g_error_free(err);
		} else if (!e->cases->len) {
			problem(d, fix, "exercise %s has no test cases (tests/NAME/): everything would pass", *n);
		} else {
			okay("exercise %s: %u cases", *n, e->cases->len);
		}
		exercise_free(e);
	}
	g_autofree char *open = doctor_world_readable(c->exercises);
	if (open) {
		g_autofree char *fix = doctor_fix_world_readable(c);
		problem(d, fix, "%s can be read by every user of this machine (reference solutions, private tests)", open);
	}
}

/* ---- the MTA route ----------------------------------------------------- */

static char *find_tool(const char *name)
{
	/* staff shells often lack /usr/sbin in PATH */
	char *p = g_find_program_in_path(name);
	if (!p)
		p = g_build_filename("/usr/sbin", name, NULL);
	if (p && access(p, X_OK)) {
		g_free(p);
		p = NULL;
	}
	return p;
}

/* The trimmed standard output of a postfix tool, NULL when it fails (a
 * lookup that finds nothing exits 1). */
static char *tool_output(const char *tool, const char *a1, const char *a2, const char *a3)
{
	g_autofree char *path = find_tool(tool);
	if (!path)
		return NULL;
	const char *argv[] = { path, a1, a2, a3, NULL };
	char *out = NULL;
	int status = 0;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
	                  &status, NULL) || !g_spawn_check_wait_status(status, NULL)) {
		g_free(out);
		return NULL;
	}
	return g_strstrip(out);
}

/* the maps of a list parameter (postconf -hx: $names expanded) */
static char **postfix_maps(const char *param)
{
	g_autofree char *v = tool_output("postconf", "-hx", param, NULL);
	char **maps = g_strsplit_set(v ? v : "", ", \t\n", -1);
	char **w = maps;
	for (char **r = maps; *r; r++) {
		if (**r)
			*w++ = *r;
		else
			g_free(*r);
	}
	*w = NULL;
	return maps;
}

/* The value of user= in a master.cf entry (pipe(8) runs argv as it). */
static char *master_user(const char *entry)
{
	const char *u = strstr(entry, "user=");
	if (!u)
		return NULL;
	u += 5;
	size_t n = strcspn(u, " \t:\n");
	return g_strndup(u, n);
}

/* transport_maps sends addr to a pipe(8) service running sercom-deliver */
static bool route_pipe(struct doctor *d, const char *addr, const char *bare)
{
	g_auto(GStrv) maps = postfix_maps("transport_maps");
	for (char **m = maps; *m; m++) {
		g_autofree char *t = tool_output("postmap", "-q", addr, *m);
		if (!t && strcmp(addr, bare))
			t = tool_output("postmap", "-q", bare, *m);
		if (!t)
			continue;
		t[strcspn(t, ":")] = 0;
		g_autofree char *svc = g_strdup_printf("%s/unix", t);
		g_autofree char *entry = tool_output("postconf", "-M", svc, NULL);
		if (!entry || !strstr(entry, "sercom-deliver")) {
			g_autofree char *fix = g_strdup_printf("add the entry of /usr/share/sercom/filters/master.cf "
			                                       "to master.cf as service %s, then postfix reload", t);
			problem(d, fix, "%s goes to transport %s (%s), which does not run sercom-deliver", addr, t, *m);
			return true;
		}
		d->deliver_user = master_user(entry);
		d->route = g_strdup_printf("pipe(8) service %s of master.cf (%s)", t, *m);
		if (!d->deliver_user)
			problem(d, "add user=OWNER-OF-VAR to its master.cf entry, then postfix reload",
			        "master.cf service %s has no user=", t);
		return true;
	}
	return false;
}

/* The user local(8) runs a command of an alias map as: the owner of the
 * map's database file, default_privs when that is root. */
static char *alias_user(const char *map)
{
	const char *file = strchr(map, ':') ? strchr(map, ':') + 1 : map;
	static const char *const ext[] = { ".db", ".lmdb", ".cdb", "" };
	struct stat st;
	for (size_t i = 0; i < G_N_ELEMENTS(ext); i++) {
		g_autofree char *p = g_strconcat(file, ext[i], NULL);
		if (stat(p, &st) == 0) {
			if (st.st_uid == 0)
				return tool_output("postconf", "-hx", "default_privs", NULL);
			struct passwd *pw = getpwuid(st.st_uid);
			return pw ? g_strdup(pw->pw_name) : g_strdup_printf("%ld", (long)st.st_uid);
		}
	}
	return NULL;
}

/* a local user whose .forward, .procmailrc or .mailfilter runs it */
static bool route_home(struct doctor *d, const char *user)
{
	struct passwd *pw = getpwnam(user);
	static const char *const files[] = { ".forward", ".procmailrc", ".mailfilter" };
	for (size_t i = 0; pw && i < G_N_ELEMENTS(files); i++) {
		g_autofree char *p = g_build_filename(pw->pw_dir, files[i], NULL);
		g_autofree char *text = NULL;
		if (g_file_get_contents(p, &text, NULL, NULL) && strstr(text, "sercom-deliver")) {
			d->deliver_user = g_strdup(user);
			d->route = g_strdup(p);
			return true;
		}
	}
	return false;
}

static bool route_alias(struct doctor *d, const char *local)
{
	g_auto(GStrv) maps = postfix_maps("alias_maps");
	for (char **m = maps; *m; m++) {
		g_autofree char *v = tool_output("postalias", "-q", local, *m);
		if (!v)
			continue;
		if (!strstr(v, "sercom-deliver"))
			return !strchr(v, '@') && !strchr(v, ',') && route_home(d, v);
		d->deliver_user = alias_user(*m);
		d->route = g_strdup_printf("alias %s of %s", local, *m);
		if (d->deliver_user && (!strcmp(d->deliver_user, "nobody") || !strcmp(d->deliver_user, "root"))) {
			g_autofree char *fix = g_strdup_printf("postalias %s && chown OWNER-OF-VAR %s.db "
			                                       "(local(8) runs the command as the map's owner)",
			                                       strchr(*m, ':') ? strchr(*m, ':') + 1 : *m,
			                                       strchr(*m, ':') ? strchr(*m, ':') + 1 : *m);
			problem(d, fix, "the alias %s runs sercom-deliver as %s, who cannot write var/", local,
			        d->deliver_user);
		}
		return true;
	}
	return false;
}

/* the address of "Name <addr>" or of "addr", lower case */
static char *course_address(const char *from)
{
	const char *lt = strrchr(from, '<');
	g_autofree char *a = lt ? g_strndup(lt + 1, strcspn(lt + 1, ">")) : g_strdup(from);
	return g_ascii_strdown(g_strstrip(a), -1);
}

static void check_route(struct doctor *d)
{
	g_autofree char *postconf = find_tool("postconf");
	if (!postconf) {
		printf("note: no postfix here (postconf): the route to sercom-deliver is not checked\n");
		return;
	}
	g_autofree char *addr = course_address(d->c->from);
	g_autofree char *local = g_strndup(addr, strcspn(addr, "@"));
	const char *domain = strchr(addr, '@') ? strchr(addr, '@') : "";
	g_autofree char *delim = tool_output("postconf", "-hx", "recipient_delimiter", NULL);
	if (delim && *delim)
		local[strcspn(local, delim)] = 0;
	g_autofree char *bare = g_strconcat(local, domain, NULL);
	if (route_pipe(d, addr, bare) || route_alias(d, local) || route_home(d, local)) {
		if (d->route)
			okay("%s reaches sercom-deliver: %s, as user %s", addr, d->route,
			     d->deliver_user ? d->deliver_user : "?");
		return;
	}
	problem(d, "follow README \"Installing for a real course\": a transport_maps line "
	        "'ADDRESS sercom:' and the master.cf entry of filters/master.cf, or an alias "
	        "(filters/aliases) then postalias",
	        "postfix does not deliver %s ([mail] from) to sercom-deliver "
	        "(not in transport_maps, alias_maps, nor a .forward)", addr);
}

/* ---- var/ against the delivery user ------------------------------------ */

/* whether user (a name) may create files in dir */
static bool user_can_write(const char *user, const struct stat *st)
{
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return false;
	if (pw->pw_uid == 0 || (pw->pw_uid == st->st_uid && (st->st_mode & S_IWUSR)))
		return true;
	if (!(st->st_mode & S_IWGRP))
		return false;
	if (pw->pw_gid == st->st_gid)
		return true;
	struct group *g = getgrgid(st->st_gid);
	for (char **m = g ? g->gr_mem : NULL; m && *m; m++)
		if (!strcmp(*m, user))
			return true;
	return false;
}

static void check_var(struct doctor *d)
{
	const struct sercom_conf *c = d->c;
	struct stat st;
	g_autofree char *init = g_strdup_printf("sercom -c %s init", c->path);
	if (stat(c->var, &st) == 0 && access(c->var, X_OK) < 0) {
		problem(d, "run sercom doctor as root or as the owner of var/",
		        "%s: %s: cannot check the instance", c->var, g_strerror(EACCES));
		return;
	}
	if (stat(c->var, &st) < 0 || stat(c->db_path, &st) < 0 || stat(c->fifo_path, &st) < 0) {
		problem(d, init, "%s is not an instance yet (no %s or %s)", c->var, c->db_path, c->fifo_path);
		return;
	}
	stat(c->var, &st);
	struct passwd *owner = getpwuid(st.st_uid);
	const char *who = d->deliver_user ? d->deliver_user : "THE-MTA-DELIVERY-USER";
	g_autofree char *chown_fix = g_strdup_printf("chown -R %s: %s", who, c->var);
	if (st.st_uid == 0)
		problem(d, chown_fix, "%s belongs to root: the ingester never parses mail as root and refuses it", c->var);
	else if (d->deliver_user && (!owner || strcmp(owner->pw_name, d->deliver_user)))
		problem(d, chown_fix, "the MTA runs sercom-deliver as %s, but %s belongs to %s (the ingester "
		        "runs as the owner of var/)", d->deliver_user, c->var, owner ? owner->pw_name : "?");
	else
		okay("%s belongs to %s", c->var, owner ? owner->pw_name : "?");
	static const char *const spool[] = { "tmp", "new" };
	for (size_t i = 0; d->deliver_user && i < G_N_ELEMENTS(spool); i++) {
		g_autofree char *p = g_build_filename(c->mail_dir, spool[i], NULL);
		if (stat(p, &st) == 0 && !user_can_write(d->deliver_user, &st))
			problem(d, chown_fix, "%s: %s (the MTA's delivery user) cannot create files there: "
			        "every submission would wait in the MTA's queue", p, d->deliver_user);
	}
	g_autofree char *open = doctor_world_readable(c->var);
	if (open) {
		g_autofree char *fix = g_strdup_printf("chmod -R o-rwx %s", c->var);
		problem(d, fix, "%s can be read by every user of this machine (students' code, grades)", open);
	} else {
		okay("%s is private", c->var);
	}
}

/* ---- runner, log --------------------------------------------------------- */

static void check_runner(struct doctor *d)
{
	/* a FIFO opened for writing without blocking fails with ENXIO when
	 * no process has it open for reading: the runner keeps it open */
	int fd = open(d->c->fifo_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		okay("a runner listens on %s", d->c->fifo_path);
		return;
	}
	if (errno == ENXIO)
		problem(d, "systemctl enable --now sercom-runner (or: sercom-runner -c CONF, as root)",
		        "no runner is running: submissions are recorded but not graded nor answered");
	else if (errno != ENOENT)
		problem(d, "run sercom doctor as root or as the owner of var/", "%s: %s", d->c->fifo_path,
		        g_strerror(errno));
}

static void check_log(struct doctor *d)
{
	if (log_syslog_present()) {
		okay("log: syslog (%s), facility mail: journalctl -t sercom-runner, or /var/log/mail.log",
		     log_syslog_socket());
		return;
	}
	if (g_getenv("JOURNAL_STREAM") || g_getenv("INVOCATION_ID")) {
		okay("log: standard error, kept by the systemd journal (journalctl -u sercom-runner)");
		return;
	}
	problem(d, "apt-get install rsyslog (or run the runner under systemd: its stderr goes to the journal)",
	        "no syslog socket (%s) and not under systemd: the runner's log goes only to its standard "
	        "error, which nobody may keep", log_syslog_socket());
}

int doctor_main(const char *conf_path, const struct sercom_conf *c, const GError *conf_err,
                int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "usage: sercom doctor\n");
		return EX_USAGE;
	}
	if (!c) {
		printf("problem: the config does not load: %s\n    fix: edit %s (the line named above)\n",
		       conf_err ? conf_err->message : "?", conf_path ? conf_path : "the config");
		return EXIT_FAILURE;
	}
	struct doctor d = { .c = c };
	check_config(&d);
	check_templates(&d);
	check_exercises(&d);
	check_route(&d);
	check_var(&d);
	check_runner(&d);
	check_log(&d);
	if (d.problems)
		printf("%d problem(s)\n", d.problems);
	else
		printf("no problems found\n");
	g_free(d.deliver_user);
	g_free(d.route);
	return d.problems ? EXIT_FAILURE : EXIT_SUCCESS;
}
