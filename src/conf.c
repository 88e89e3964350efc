/* conf: the instance configuration. See conf.h and docs/ARCHITECTURE.md section 3. */
#include "conf.h"
#include "util.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void set_key_error(GError **err, const char *file, const char *group,
                          const char *key, const char *what, const char *val)
{
	g_set_error(err, SERCOM_ERROR, EINVAL, "%s: [%s] %s: %s%s%s%s", file, group, key,
	            what, val ? " (got '" : "", val ? val : "", val ? "')" : "");
}

GKeyFile *conf_keyfile_load(const char *file, GError **err)
{
	GKeyFile *kf = g_key_file_new();
	GError *e = NULL;
	if (!g_key_file_load_from_file(kf, file, G_KEY_FILE_NONE, &e)) {
		/* GKeyFile's parse errors already say "line N"; add the file */
		g_set_error(err, SERCOM_ERROR, e->domain == G_FILE_ERROR ? ENOENT : EINVAL,
		            "%s: %s", file, e->message);
		g_error_free(e);
		g_key_file_free(kf);
		return NULL;
	}
	return kf;
}

static char *get_raw(GKeyFile *kf, const char *group, const char *key)
{
	char *v = g_key_file_get_value(kf, group, key, NULL);
	if (v)
		g_strstrip(v);
	return v;
}

static bool conf_get_size(GKeyFile *kf, const char *file, const char *group, const char *key, uint64_t *out, GError **err)
{
	g_autofree char *v = get_raw(kf, group, key);
	if (!v)
		return true;
	if (!util_parse_size(v, out)) {
		set_key_error(err, file, group, key, "expected a size like 512K, 10M or 1G", v);
		return false;
	}
	return true;
}

static bool conf_get_duration(GKeyFile *kf, const char *file, const char *group, const char *key, uint64_t *out_ms, GError **err)
{
	g_autofree char *v = get_raw(kf, group, key);
	if (!v)
		return true;
	if (!util_parse_duration_ms(v, out_ms)) {
		set_key_error(err, file, group, key, "expected a time like 2s, 500ms or 1m", v);
		return false;
	}
	return true;
}

bool conf_get_date(GKeyFile *kf, const char *file, const char *group, const char *key, int64_t *out, GError **err)
{
	g_autofree char *v = get_raw(kf, group, key);
	if (!v || !*v)
		return true;
	if (!util_parse_date(v, out)) {
		set_key_error(err, file, group, key, "expected a date like 2026-04-15 23:59 (optionally +01:00)", v);
		return false;
	}
	return true;
}

bool conf_get_bool(GKeyFile *kf, const char *file, const char *group, const char *key, bool *out, GError **err)
{
	g_autofree char *v = get_raw(kf, group, key);
	if (!v)
		return true;
	if (!g_ascii_strcasecmp(v, "true") || !g_ascii_strcasecmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!g_ascii_strcasecmp(v, "false") || !g_ascii_strcasecmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else {
		set_key_error(err, file, group, key, "expected true or false", v);
		return false;
	}
	return true;
}

bool conf_get_int(GKeyFile *kf, const char *file, const char *group, const char *key, int64_t *out, GError **err)
{
	g_autofree char *v = get_raw(kf, group, key);
	if (!v)
		return true;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || end == v || *end) {
		set_key_error(err, file, group, key, "expected a whole number", v);
		return false;
	}
	*out = n;
	return true;
}

void conf_default_limits(struct limits *l)
{
	*l = (struct limits){
		.message_size = 10u << 20,
		.unpacked_size = 50u << 20,
		.files = 200,
		.cpu_ms = 2000,
		.wall_ms = 10000,
		.memory = 256u << 20,
		.output = 1u << 20,
		.procs = 1,
		.file_size = 10u << 20,
	};
}

void conf_default_build_limits(struct limits *l)
{
	conf_default_limits(l);
	/* a compiler forks (make, gcc, cc1, as, ld) and needs memory; still
	 * bounded so `#include "/dev/zero"` ends as a failed build */
	l->cpu_ms = 30000;
	l->wall_ms = 60000;
	l->memory = 1024u << 20;
	l->procs = 64;
	l->output = 1u << 20;
	l->file_size = 64u << 20;
	/* the build's own tmpfs: a compiler's objects are a few MB; a build
	 * rule fooled into running a script must stop somewhere (grade.c) */
	l->space = 256u << 20;
	l->inodes = 20000;
}

/* 0 would be a tmpfs without a limit (size=0, nr_inodes=0 mean none) */
static bool check_build_area(GKeyFile *kf, const char *file, const char *group,
                             const struct limits *l, GError **err)
{
	if (g_key_file_has_key(kf, group, "space", NULL) && l->space < (1u << 20)) {
		set_key_error(err, file, group, "space", "expected at least 1M", NULL);
		return false;
	}
	if (g_key_file_has_key(kf, group, "inodes", NULL) && (int64_t)l->inodes < 64) {
		set_key_error(err, file, group, "inodes", "expected at least 64", NULL);
		return false;
	}
	return true;
}

bool conf_read_limits(GKeyFile *kf, const char *file, const char *group, struct limits *l, GError **err)
{
	if (!g_key_file_has_group(kf, group))
		return true;
	int64_t n;
	return conf_get_size(kf, file, group, "message_size", &l->message_size, err) &&
	       conf_get_size(kf, file, group, "unpacked_size", &l->unpacked_size, err) &&
	       (n = (int64_t)l->files, conf_get_int(kf, file, group, "files", &n, err)) &&
	       (l->files = (uint64_t)n, true) &&
	       conf_get_duration(kf, file, group, "cpu", &l->cpu_ms, err) &&
	       conf_get_duration(kf, file, group, "wall", &l->wall_ms, err) &&
	       conf_get_size(kf, file, group, "memory", &l->memory, err) &&
	       conf_get_size(kf, file, group, "output", &l->output, err) &&
	       (n = (int64_t)l->procs, conf_get_int(kf, file, group, "procs", &n, err)) &&
	       (l->procs = (uint64_t)n, true) &&
	       conf_get_size(kf, file, group, "file_size", &l->file_size, err) &&
	       conf_get_size(kf, file, group, "space", &l->space, err) &&
	       (n = (int64_t)l->inodes, conf_get_int(kf, file, group, "inodes", &n, err)) &&
	       (l->inodes = (uint64_t)n, true) &&
	       conf_get_duration(kf, file, group, "min_interval", &l->min_interval_ms, err) &&
	       (n = (int64_t)l->max_per_day, conf_get_int(kf, file, group, "max_per_day", &n, err)) &&
	       (l->max_per_day = n > 0 ? (uint64_t)n : 0, true) &&
	       check_build_area(kf, file, group, l, err);
}

/* path with its symlinks resolved as far as it exists (var may not
 * exist yet): /lib/x is /usr/lib/x on a merged-/usr system */
static char *real_path(const char *path)
{
	g_autofree char *head = g_canonicalize_filename(path, "/");
	GString *tail = g_string_new(NULL);
	char *r;
	while (!(r = realpath(head, NULL))) {
		char *slash = strrchr(head, '/');
		g_string_prepend(tail, slash);
		slash[slash == head] = 0;   /* "/x" -> "/", which exists */
	}
	if (strcmp(r, "/") || !tail->len)
		g_string_prepend(tail, r);
	free(r);
	return g_string_free(tail, FALSE);
}

static bool path_under(const char *path, const char *dir)
{
	if (!strcmp(dir, "/"))
		return true;
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

const char *conf_bind_exposing(const struct sercom_conf *c, const char *path)
{
	g_autofree char *p = real_path(path);
	for (char **b = c->binds; b && *b; b++) {
		g_autofree char *rb = real_path(*b);
		if (path_under(p, rb) || path_under(rb, p))
			return *b;
	}
	return NULL;
}

/* A space-separated list key: its items, empty items dropped; never NULL. */
static char **get_list(GKeyFile *kf, const char *group, const char *key, const char *def)
{
	g_autofree char *v = get_raw(kf, group, key);
	char **items = g_strsplit_set(v ? v : def, " \t", -1);
	char **w = items;
	for (char **r = items; *r; r++) {
		if (**r)
			*w++ = *r;
		else
			g_free(*r);
	}
	*w = NULL;
	return items;
}

static char *get_string(GKeyFile *kf, const char *group, const char *key, const char *def)
{
	char *v = get_raw(kf, group, key);
	return v ? v : g_strdup(def);
}

void conf_free(struct sercom_conf *c)
{
	if (!c)
		return;
	g_free(c->path);
	g_free(c->dir);
	g_free(c->var);
	g_free(c->exercises);
	g_free(c->templates);
	g_free(c->language);
	g_free(c->from);
	g_free(c->admin);
	g_free(c->prefix);
	g_free(c->transport);
	g_free(c->bounce_address);
	g_free(c->tls_ca);
	if (c->trusted)
		g_regex_unref(c->trusted);
	g_strfreev(c->authserv_ids);
	g_strfreev(c->auth_exempt);
	g_strfreev(c->binds);
	g_free(c->mail_dir);
	g_free(c->attempts_dir);
	g_free(c->outbox_dir);
	g_free(c->db_path);
	g_free(c->fifo_path);
	g_free(c);
}

/* The index of the value of group.key among choices (NULL-terminated),
 * dflt when absent; -1 with an error that lists them otherwise. */
static int get_choice(GKeyFile *kf, const char *f, const char *group, const char *key,
                      const char *dflt, const char *const *choices, const char *expected, GError **err)
{
	g_autofree char *v = get_string(kf, group, key, dflt);
	for (int i = 0; choices[i]; i++)
		if (!strcmp(v, choices[i]))
			return i;
	set_key_error(err, f, group, key, expected, v);
	return -1;
}

/* The reply templates: [general] templates when set; else the instance's
 * own templates/ beside the config when it has one; else the installed
 * ones, found from the program's own path (PREFIX/bin/sercom ->
 * PREFIX/share/sercom/templates; bin/ of the source tree ->
 * conf/templates), then the PREFIX the Makefile compiled in. An
 * instance made from the design's example config (no templates key, no
 * copy) must still answer its students (README "Templates"). */
static char *templates_dir(GKeyFile *kf, const char *conf_dir)
{
	g_autofree char *key = get_raw(kf, "general", "templates");
	if (key && *key)
		return util_resolve(conf_dir, key);
	char *own = g_build_filename(conf_dir, "templates", NULL);
	if (g_file_test(own, G_FILE_TEST_IS_DIR))
		return own;
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *bin = exe ? g_path_get_dirname(exe) : NULL;
	static const char *const beside[] = { "../share/sercom/templates", "../share/sercom/conf/templates",
	                                      "../conf/templates", "../../conf/templates" };
	for (size_t i = 0; bin && i < G_N_ELEMENTS(beside); i++) {
		g_autofree char *p = g_build_filename(bin, beside[i], NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR)) {
			g_free(own);
			return g_canonicalize_filename(p, NULL);
		}
	}
#ifdef SERCOM_TEMPLATES_DIR
	if (g_file_test(SERCOM_TEMPLATES_DIR, G_FILE_TEST_IS_DIR)) {
		g_free(own);
		return g_strdup(SERCOM_TEMPLATES_DIR);
	}
#endif
	/* none: the instance's own path, which conf_check_templates names */
	return own;
}

/* the files compose.c reads for every reply (conf/templates/README) */
static const char *const template_files[] = { "strings.ini", "ACCEPTED.txt", "TESTS_FAILED.txt",
	"BUILD_FAILED.txt", "REJECTED.txt", "INTERNAL_ERROR.txt" };

bool conf_check_templates(const struct sercom_conf *c, GError **err)
{
	const char *lang = c->language && *c->language ? c->language : "en";
	if (!util_safe_filename(lang)) {
		set_key_error(err, c->path, "general", "language", "not a directory name", lang);
		return false;
	}
	g_autofree char *dir = g_build_filename(c->templates, lang, NULL);
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(err, SERCOM_ERROR, ENOENT,
		            "%s: no templates for language '%s' ([general] language of %s; "
		            "[general] templates names the directory of one subdirectory per language)",
		            dir, lang, c->path);
		return false;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(template_files); i++) {
		g_autofree char *f = g_build_filename(dir, template_files[i], NULL);
		g_autofree char *text = NULL;
		GError *e = NULL;
		if (!g_file_get_contents(f, &text, NULL, &e)) {
			g_set_error(err, SERCOM_ERROR, ENOENT, "templates: %s", e->message);
			g_error_free(e);
			return false;
		}
		if (i == 0) {
			g_autoptr(GKeyFile) kf = conf_keyfile_load(f, err);
			if (!kf)
				return false;
		}
	}
	return true;
}

static bool read_general(GKeyFile *kf, struct sercom_conf *c, GError **err)
{
	const char *f = c->path;
	g_autofree char *v = get_string(kf, "general", "var", "var");
	g_autofree char *ex = get_string(kf, "general", "exercises", "exercises");
	c->var = util_resolve(c->dir, v);
	c->exercises = util_resolve(c->dir, ex);
	c->templates = templates_dir(kf, c->dir);
	c->language = get_string(kf, "general", "language", "en");
	int64_t n = 2;
	if (!conf_get_int(kf, f, "general", "workers", &n, err))
		return false;
	if (n < 1 || n > 256) {
		set_key_error(err, f, "general", "workers", "expected 1 to 256", NULL);
		return false;
	}
	c->workers = (int)n;
	n = 365;
	if (!conf_get_int(kf, f, "general", "retention_days", &n, err))
		return false;
	c->retention_days = (int)n;
	return true;
}

char *conf_redact(const char *t)
{
	if (!t)
		return g_strdup("");
	/* whatever the typo (SMTP://, smtp:/, no host), what lies between the
	 * scheme and the last "@" may be a password: never shown */
	const char *at = strrchr(t, '@');
	if (!at)
		return g_strdup(t);
	const char *sep = strstr(t, "://");
	size_t keep = sep ? (size_t)(sep - t) + 3 : strcspn(t, ":") < (size_t)(at - t) ? strcspn(t, ":") + 1 : 0;
	return g_strdup_printf("%.*s***%s", (int)keep, t, at);
}

/* [mail] transport: sendmail, maildir:PATH, smtp:// or smtps:// with a
 * host. Checked at load so that a typo stops the runner at start instead
 * of retrying every reply for days with the URL (and its password) in
 * last_error; the messages show it redacted. */
static bool check_transport(const char *f, const char *t, GError **err)
{
	static const char expected[] = "expected sendmail, maildir:PATH, smtp://[USER:PASSWORD@]HOST[:PORT] or "
	                               "smtps://[USER:PASSWORD@]HOST[:PORT]";
	g_autofree char *shown = conf_redact(t);
	if (!strcmp(t, "sendmail") || (g_str_has_prefix(t, "maildir:") && t[strlen("maildir:")]))
		return true;
	if (!g_str_has_prefix(t, "smtp://") && !g_str_has_prefix(t, "smtps://")) {
		set_key_error(err, f, "mail", "transport", expected, shown);
		return false;
	}
	/* GUri's own messages quote the whole URI: not shown */
	g_autoptr(GUri) u = g_uri_parse(t, G_URI_FLAGS_HAS_PASSWORD, NULL);
	const char *why = NULL;
	if (!u)
		why = "not a valid URL (a user name or password with @, : or / must be %-escaped)";
	else if (!g_uri_get_host(u) || !*g_uri_get_host(u))
		why = "no host";
	else if ((*g_uri_get_path(u) && strcmp(g_uri_get_path(u), "/")) || g_uri_get_query(u) || g_uri_get_fragment(u))
		why = "unexpected path or query after the host";
	else if (g_uri_get_password(u) && !(g_uri_get_user(u) && *g_uri_get_user(u)))
		why = "a password without a user name";
	if (why) {
		g_autofree char *msg = g_strdup_printf("%s; %s", why, expected);
		set_key_error(err, f, "mail", "transport", msg, shown);
		return false;
	}
	return true;
}

/* A password readable by every local user is everyone's: say so (not an
 * error: the admin may have reasons, and the replies must still go). */
static void warn_readable_secret(const char *f, const char *t)
{
	if (!g_str_has_prefix(t, "smtp") || !strchr(t, '@'))
		return;
	struct stat st;
	if (stat(f, &st) == 0 && (st.st_mode & S_IROTH))
		log_warn("%s holds the SMTP password of [mail] transport and every local user can read it "
		         "(mode %04o): chmod o-r %s", f, (unsigned)(st.st_mode & 07777), f);
}

static bool read_transport(GKeyFile *kf, struct sercom_conf *c, GError **err)
{
	const char *f = c->path;
	if (!check_transport(f, c->transport, err))
		return false;
	warn_readable_secret(f, c->transport);
	c->tls_verify = true;
	if (!conf_get_bool(kf, f, "mail", "tls_verify", &c->tls_verify, err))
		return false;
	g_autofree char *ca = get_raw(kf, "mail", "tls_ca");
	if (ca && *ca)
		c->tls_ca = util_resolve(c->dir, ca);
	/* without a certificate to verify, TLS protects nothing against the
	 * man in the middle who also strips STARTTLS: opportunistic then */
	static const char *const modes[] = { "required", "opportunistic", NULL };
	int m = get_choice(kf, f, "mail", "starttls", c->tls_verify ? "required" : "opportunistic", modes,
	                   "expected required or opportunistic", err);
	if (m < 0)
		return false;
	c->starttls = (enum starttls_mode)m;
	uint64_t ms = 60000;
	if (!conf_get_duration(kf, f, "mail", "timeout", &ms, err))
		return false;
	if (ms < 1000 || ms > 3600000) {
		set_key_error(err, f, "mail", "timeout", "expected 1s to 1h", NULL);
		return false;
	}
	c->timeout = (int)(ms / 1000);
	return true;
}

static bool read_mail(GKeyFile *kf, struct sercom_conf *c, GError **err)
{
	const char *f = c->path;
	c->from = get_string(kf, "mail", "from", "sercom <sercom@localhost>");
	c->admin = get_string(kf, "mail", "admin", "root@localhost");
	c->prefix = get_string(kf, "mail", "prefix", "sercom");
	c->transport = get_string(kf, "mail", "transport", "sendmail");
	c->bounce_address = get_string(kf, "mail", "bounce_address", c->from);
	/* in the order of enum unknown_sender_policy, enum auth_mode, enum grade_pick */
	static const char *const unknown[] = { "reject", "ignore", "accept", NULL };
	static const char *const auth[] = { "off", "warn", "require", NULL };
	static const char *const pick[] = { "best", "last", NULL };
	int us = get_choice(kf, f, "mail", "unknown_sender", "reject", unknown,
	                    "expected reject, ignore or accept", err);
	int au = us < 0 ? -1 : get_choice(kf, f, "mail", "authenticate", "off", auth,
	                                  "expected off, warn or require", err);
	int gp = au < 0 ? -1 : get_choice(kf, f, "mail", "grade", "best", pick, "expected best or last", err);
	if (gp < 0)
		return false;
	c->unknown_sender = (enum unknown_sender_policy)us;
	c->authenticate = (enum auth_mode)au;
	c->grade_pick = (enum grade_pick)gp;
	g_autofree char *trusted = get_raw(kf, "mail", "trusted");
	if (trusted && *trusted) {
		GError *re = NULL;
		c->trusted = g_regex_new(trusted, G_REGEX_CASELESS, 0, &re);
		if (!c->trusted) {
			set_key_error(err, f, "mail", "trusted", re->message, trusted);
			g_error_free(re);
			return false;
		}
	}
	c->authserv_ids = get_list(kf, "mail", "authserv_id", "");
	c->auth_exempt = get_list(kf, "mail", "authenticate_exempt", "");
	if (c->authenticate != AUTH_OFF && !*c->authserv_ids) {
		/* no id: nothing could ever pass, every mail would be refused */
		set_key_error(err, f, "mail", "authserv_id",
		              "authenticate is on: name the authserv-id(s) your MTA writes", NULL);
		return false;
	}
	c->show_private_count = true;
	c->reply_max = 2u << 20;
	c->diff_max = 64u << 10;
	uint64_t age_ms = 3ull * 24 * 3600 * 1000;
	if (!conf_get_bool(kf, f, "mail", "show_private_count", &c->show_private_count, err) ||
	    !conf_get_size(kf, f, "mail", "reply_max", &c->reply_max, err) ||
	    !conf_get_size(kf, f, "mail", "diff_max", &c->diff_max, err) ||
	    !conf_get_duration(kf, f, "mail", "retry_max_age", &age_ms, err))
		return false;
	c->retry_max_age = (int64_t)(age_ms / 1000);
	return read_transport(kf, c, err);
}

static bool read_sandbox(GKeyFile *kf, struct sercom_conf *c, GError **err)
{
	const char *f = c->path;
	int64_t n = 60000;
	if (!conf_get_int(kf, f, "sandbox", "uid_base", &n, err))
		return false;
	if (n < 1000 || n > 4000000000LL) {
		set_key_error(err, f, "sandbox", "uid_base", "expected an unprivileged uid (>= 1000)", NULL);
		return false;
	}
	c->uid_base = (uid_t)n;
	c->binds = get_list(kf, "sandbox", "binds", "/usr /lib /lib64 /bin /etc/alternatives");
	/* every sandbox sees the binds: a var/ under one (or one under var/)
	 * would show every student's submission and report to every program */
	const char *bind = conf_bind_exposing(c, c->var);
	if (bind) {
		g_set_error(err, SERCOM_ERROR, EINVAL,
		            "%s: [general] var: %s and the [sandbox] binds item %s contain one another: "
		            "every student's program could read every submission; move var or drop the bind",
		            f, c->var, bind);
		return false;
	}
	return true;
}

struct sercom_conf *conf_load(const char *path, GError **err)
{
	if (!path)
		path = g_getenv("SERCOM_CONF");
	if (!path || !*path)
		path = "/etc/sercom/sercom.conf";
	g_autofree char *abs = g_canonicalize_filename(path, NULL);
	GKeyFile *kf = conf_keyfile_load(abs, err);
	if (!kf)
		return NULL;
	struct sercom_conf *c = g_new0(struct sercom_conf, 1);
	c->path = g_strdup(abs);
	c->dir = g_path_get_dirname(abs);
	conf_default_limits(&c->limits);
	conf_default_build_limits(&c->build_limits);
	bool ok = read_general(kf, c, err) && read_mail(kf, c, err) &&
	          conf_read_limits(kf, c->path, "limits", &c->limits, err) &&
	          conf_read_limits(kf, c->path, "build-limits", &c->build_limits, err) &&
	          read_sandbox(kf, c, err);
	g_key_file_free(kf);
	if (!ok) {
		conf_free(c);
		return NULL;
	}
	c->mail_dir = g_build_filename(c->var, "mail", NULL);
	c->attempts_dir = g_build_filename(c->var, "attempts", NULL);
	c->outbox_dir = g_build_filename(c->var, "outbox", NULL);
	c->db_path = g_build_filename(c->var, "sercom.db", NULL);
	c->fifo_path = g_build_filename(c->var, "runner.fifo", NULL);
	return c;
}
