/* transport: sends the outbox (docs/ARCHITECTURE.md sections 1 and 7).
 *
 * Theory of operation
 *   Every reply is already durable in var/outbox and has an outbox row
 *   (compose.c) before anything is sent. In the runner only its sender
 *   process calls transport_flush() (sercom-runner.c): a slow or hung mail server
 *   delays replies, never grading. transport_flush() takes the due PENDING
 *   rows one at a time and, for each:
 *     1. claims it: in one BEGIN IMMEDIATE transaction, tries + 1, the
 *        sending hold set to now (and next_try pushed past the lease), only
 *        if the row is still PENDING, due and not held by a live sender.
 *        `sercom outbox flush` clears next_try but never the hold: two
 *        processes never send the same row at once.
 *     2. sends it with the configured transport;
 *     3. marks it SENT, or PENDING again with next_try = now + backoff and
 *        last_error, or FAILED (the admin is told), and drops the hold.
 *   A crash between 2 and 3 leaves the hold: after the lease the row is
 *   sent again, marked maybe_sent ("may already have been sent", shown by
 *   `sercom outbox` and logged with the resend). That is the only
 *   duplicate possible (at most one per crash), and we prefer it to losing
 *   a reply: "hand to the MTA" and "commit" cannot be one atomic step.
 *
 * Refusals
 *   Per recipient (5xx to RCPT or at the end of DATA, an invalid address):
 *   final, FAILED at once, the admin told. Server-wide or configuration
 *   (no connection, a timeout, TLS, no STARTTLS, 5xx to EHLO/HELO, AUTH or
 *   MAIL, 530 or 5.7.x anywhere): every reply would get the same answer,
 *   so the row stays PENDING with backoff, server_error = 1, the other due
 *   rows wait with it, and the problem is logged once (and counted by
 *   `sercom stats`): a notice to the admin through the failing server
 *   would fail too. Every read and write has [mail] timeout (and sendmail
 *   as a whole), so a server that never answers costs one timeout.
 *
 * Transports ([mail] transport)
 *   sendmail       $SERCOM_SENDMAIL or /usr/sbin/sendmail, run as
 *                  `sendmail -i -f ADMIN -- RCPT` with fork/execv and the
 *                  message file on stdin. Never -t: the recipients come
 *                  from the row, never from headers (a forged Bcc: in
 *                  anything would otherwise become a recipient). Exit 0 =
 *                  sent; anything else is retried; killed after [mail]
 *                  timeout.
 *   smtp://[user:pass@]host[:port]    libetpan; STARTTLS, which [mail]
 *                  starttls = required (the default with tls_verify)
 *                  demands: without it nothing but EHLO and QUIT goes out
 *                  (someone in the path can strip the offer). A password
 *                  never goes in clear. AUTH with the URL's credentials.
 *   smtps://[user:pass@]host[:port]   TLS from the first byte (port 465).
 *                  libetpan's GnuTLS build does not verify certificates, so
 *                  we verify the peer's chain and host name with GnuTLS
 *                  against the system trust store (or [mail] tls_ca) and
 *                  refuse to send otherwise (a man in the middle would read
 *                  every student's results and the SMTP password), unless
 *                  [mail] tls_verify = no.
 *   maildir:PATH   delivers into a Maildir (PATH relative to the config
 *                  directory); for demos and tests.
 *   The URL's user:password never appears in a message (conf_redact; the
 *   URL is checked when the config is loaded).
 */
#define _GNU_SOURCE /* pipe2 */
#include "transport.h"
#include "compose.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

/* how long a claimed row is not retried: longer than any send takes
 * (every SMTP step has [mail] timeout; a message takes a dozen) */
#define CLAIM_LEASE_MIN 600
#define CLAIM_LEASE(c) MAX(CLAIM_LEASE_MIN, 15 * (int64_t)(c)->timeout)
/* backoff: 1 min, doubling, at most 1 h */
#define BACKOFF_FIRST 60
#define BACKOFF_MAX 3600
/* how much of sendmail's stderr we keep for last_error */
#define ERRTEXT_MAX 1024

/* SEND_SERVER: a refusal every reply would get (see the rationale) */
enum send_result { SEND_OK, SEND_RETRY, SEND_PERMANENT, SEND_SERVER };

/* ---- sendmail -------------------------------------------------------- */

/* Reads fd (the child's stdout and stderr) into out, at most ERRTEXT_MAX
 * bytes kept, until EOF (true) or deadline_ms (false). */
static bool read_until(int fd, GString *out, int64_t deadline_ms)
{
	char buf[4096];
	for (;;) {
		int64_t left = deadline_ms - util_now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, (int)MIN(left, 60000));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			continue;
		ssize_t k = read(fd, buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return true;
		if (out->len < ERRTEXT_MAX)
			g_string_append_len(out, buf, MIN((size_t)k, ERRTEXT_MAX - out->len));
	}
}

/* Waits for pid until deadline_ms; false (and *st untouched) on timeout. */
static bool wait_until(pid_t pid, int *st, int64_t deadline_ms)
{
	for (;;) {
		pid_t w = waitpid(pid, st, WNOHANG);
		if (w == pid)
			return true;
		if (w < 0 && errno != EINTR)
			return true; /* not ours any more: nothing to wait for */
		if (util_now_ms() >= deadline_ms)
			return false;
		g_usleep(10000);
	}
}

static pid_t sendmail_spawn(const char *prog, char **argv, int in, int out)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* its own process group: a timeout kills what it started too */
	setpgid(0, 0);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(EX_TEMPFAIL);
	signal(SIGPIPE, SIG_DFL);
	execv(prog, argv);
	_exit(127); /* the shell's "cannot run the command" */
}

static enum send_result send_sendmail(const struct sercom_conf *c, const char *file, const char *sender,
                                      const char *rcpt, char **why)
{
	const char *prog = getenv("SERCOM_SENDMAIL");
	if (!prog || !*prog)
		prog = "/usr/sbin/sendmail";
	int in = open(file, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		*why = g_strdup_printf("%s: %s", file, g_strerror(errno));
		return SEND_RETRY;
	}
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		*why = g_strdup_printf("pipe: %s", g_strerror(errno));
		close(in);
		return SEND_RETRY;
	}
	/* argv, never a shell: the recipient is data, and "--" ends options so
	 * an address starting with "-" cannot become one */
	char *argv[] = {(char *)prog, "-i", "-f", (char *)sender, "--", (char *)rcpt, NULL};
	int64_t deadline = util_now_ms() + (int64_t)c->timeout * 1000;
	pid_t pid = sendmail_spawn(prog, argv, in, pfd[1]);
	close(in);
	close(pfd[1]);
	if (pid < 0) {
		*why = g_strdup_printf("fork: %s", g_strerror(errno));
		close(pfd[0]);
		return SEND_RETRY;
	}
	g_autoptr(GString) out = g_string_new(NULL);
	int st = 0;
	bool done = read_until(pfd[0], out, deadline) && wait_until(pid, &st, deadline);
	close(pfd[0]);
	if (!done) {
		/* a sendmail that never exits would hold every later reply */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		*why = g_strdup_printf("%s: no exit within %d s (timeout): killed", prog, c->timeout);
		return SEND_SERVER;
	}
	g_strstrip(out->str);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return SEND_OK;
	if (WIFEXITED(st))
		*why = g_strdup_printf("%s exited %d%s%s", prog, WEXITSTATUS(st), out->len ? ": " : "", out->str);
	else
		*why = g_strdup_printf("%s killed by signal %d", prog, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return SEND_RETRY;
}

/* ---- maildir --------------------------------------------------------- */

static enum send_result send_maildir(const struct sercom_conf *c, const char *dir, const char *file, char **why)
{
	g_autofree char *path = util_resolve(c->dir, dir);
	g_autofree char *data = NULL;
	gsize len;
	GError *e = NULL;
	if (!g_file_get_contents(file, &data, &len, &e) || !spool_init(path, &e) ||
	    !spool_write(path, data, len, NULL, &e)) {
		*why = g_strdup(e->message);
		g_error_free(e);
		return SEND_RETRY;
	}
	return SEND_OK;
}

/* ---- SMTP (libetpan) --------------------------------------------------- */

/* Verifies the TLS peer of stream: chain against the trust store, and the
 * certificate's name against host. */
static bool tls_peer_ok(mailstream *stream, const char *host, const char *ca_file, char **why)
{
	carray *chain = mailstream_get_certificate_chain(stream);
	if (!chain || carray_count(chain) == 0) {
		*why = g_strdup("TLS: the server sent no certificate");
		if (chain)
			mailstream_certificate_chain_free(chain);
		return false;
	}
	unsigned n = carray_count(chain);
	gnutls_x509_crt_t *certs = g_new0(gnutls_x509_crt_t, n);
	gnutls_x509_trust_list_t tl = NULL;
	bool ok = false;
	unsigned imported = 0;
	for (unsigned i = 0; i < n; i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d = {(unsigned char *)der->str, (unsigned)der->len};
		if (gnutls_x509_crt_init(&certs[i]) < 0 ||
		    gnutls_x509_crt_import(certs[i], &d, GNUTLS_X509_FMT_DER) < 0) {
			*why = g_strdup("TLS: cannot parse the server's certificate");
			imported = i + 1;
			goto out;
		}
		imported = i + 1;
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		*why = g_strdup("TLS: gnutls_x509_trust_list_init failed");
		goto out;
	}
	int added = ca_file ? gnutls_x509_trust_list_add_trust_file(tl, ca_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0)
	                    : gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
	if (added <= 0) {
		*why = g_strdup_printf("TLS: no trusted certificates in %s", ca_file ? ca_file : "the system store");
		goto out;
	}
	unsigned status = 0;
	gnutls_typed_vdata_st data = {.type = GNUTLS_DT_DNS_HOSTNAME, .data = (unsigned char *)host, .size = 0};
	int rc = gnutls_x509_trust_list_verify_crt2(tl, certs, n, &data, 1, 0, &status, NULL);
	if (rc < 0 || status != 0) {
		gnutls_datum_t msg = {0};
		if (rc >= 0 && gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &msg, 0) >= 0) {
			*why = g_strdup_printf("TLS: certificate of %s not trusted: %s", host, msg.data);
			gnutls_free(msg.data);
		} else {
			*why = g_strdup_printf("TLS: certificate of %s not verified: %s", host, gnutls_strerror(rc));
		}
		goto out;
	}
	ok = true;
out:
	if (tl)
		gnutls_x509_trust_list_deinit(tl, 1);
	for (unsigned i = 0; i < imported; i++)
		gnutls_x509_crt_deinit(certs[i]);
	g_free(certs);
	mailstream_certificate_chain_free(chain);
	return ok;
}

static void set_sni(struct mailstream_ssl_context *ctx, void *host)
{
	mailstream_ssl_set_server_name(ctx, host);
}

struct smtp_session {
	const struct sercom_conf *c;
	mailsmtp *smtp;
	const char *host;
	bool tls, esmtp;
	int64_t step_ms; /* when the current command started */
	char **why;
};

/* Whether a refusal after the envelope began is still server-wide: 530
 * (authentication required) and the 5.7.x security and policy codes are
 * the server's configuration, the same for every reply */
static bool refusal_server_wide(const mailsmtp *smtp, const char *resp)
{
	return smtp->response_code == 530 || g_str_has_prefix(resp, "5.7.") || g_str_has_prefix(resp, "4.7.");
}

/* Records why step failed; per_rcpt: a 5xx there concerns this recipient
 * only (RCPT, DATA, the end of DATA) and is final. */
static enum send_result smtp_fail(struct smtp_session *ss, const char *what, int r, bool per_rcpt)
{
	mailsmtp *smtp = ss->smtp;
	g_autofree char *clean = g_strdup(smtp->response ? smtp->response : "");
	for (char *p = clean; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	g_strstrip(clean);
	int64_t took = util_now_ms() - ss->step_ms;
	bool no_answer = r == MAILSMTP_ERROR_STREAM || r == MAILSMTP_ERROR_SSL;
	if (no_answer && took >= (int64_t)ss->c->timeout * 1000 - 500)
		/* a silent server: libetpan says "Stream error" (or nothing
		 * useful, in a TLS handshake) */
		*ss->why = g_strdup_printf("SMTP %s: no answer from %s within %d s (timeout)", what, ss->host,
		                           ss->c->timeout);
	else if (r == MAILSMTP_ERROR_SSL)
		*ss->why = g_strdup_printf("SMTP %s: TLS handshake failed", what);
	else if (no_answer || smtp->response_code <= 0)
		*ss->why = g_strdup_printf("SMTP %s: %s", what, mailsmtp_strerror(r));
	else
		/* response_code is this step's only when an answer came */
		*ss->why = g_strdup_printf("SMTP %s: %d %s%s%s", what, smtp->response_code, mailsmtp_strerror(r),
		                           *clean ? ": " : "", clean);
	if (no_answer)
		return SEND_SERVER;
	if (!per_rcpt || refusal_server_wide(smtp, clean))
		return SEND_SERVER;
	return smtp->response_code >= 500 && smtp->response_code < 600 ? SEND_PERMANENT : SEND_RETRY;
}

static void step(struct smtp_session *ss)
{
	ss->step_ms = util_now_ms();
}

/* EHLO, or HELO when the server refuses EHLO (an old or odd server: the
 * reply still goes, without ESMTP extensions). */
static enum send_result smtp_hello(struct smtp_session *ss, const char *what)
{
	step(ss);
	int r = mailesmtp_ehlo(ss->smtp);
	if (r == MAILSMTP_NO_ERROR)
		return SEND_OK;
	if (ss->smtp->response_code < 500 || ss->smtp->response_code >= 600)
		return smtp_fail(ss, what, r, false);
	ss->esmtp = false;
	step(ss);
	r = mailsmtp_helo(ss->smtp);
	return r == MAILSMTP_NO_ERROR ? SEND_OK : smtp_fail(ss, "HELO", r, false);
}

/* Connects, says hello, STARTTLS as [mail] starttls asks, AUTH. */
static enum send_result smtp_open(struct smtp_session *ss, int port, const char *user, const char *pass)
{
	const struct sercom_conf *c = ss->c;
	step(ss);
	int r = ss->tls ? mailsmtp_ssl_connect_with_callback(ss->smtp, ss->host, (uint16_t)port, set_sni, (void *)ss->host)
	                : mailsmtp_socket_connect(ss->smtp, ss->host, (uint16_t)port);
	if (r != MAILSMTP_NO_ERROR)
		return smtp_fail(ss, "connect", r, false);
	if (ss->tls && c->tls_verify && !tls_peer_ok(ss->smtp->stream, ss->host, c->tls_ca, ss->why))
		return SEND_SERVER;
	enum send_result res = smtp_hello(ss, "EHLO");
	if (res != SEND_OK)
		return res;
	if (!ss->tls && ss->esmtp && (ss->smtp->esmtp & MAILSMTP_ESMTP_STARTTLS)) {
		step(ss);
		r = mailsmtp_socket_starttls_with_callback(ss->smtp, set_sni, (void *)ss->host);
		if (r != MAILSMTP_NO_ERROR)
			return smtp_fail(ss, "STARTTLS", r, false);
		ss->tls = true;
		if (c->tls_verify && !tls_peer_ok(ss->smtp->stream, ss->host, c->tls_ca, ss->why))
			return SEND_SERVER;
		if ((res = smtp_hello(ss, "EHLO after STARTTLS")) != SEND_OK)
			return res;
	}
	bool auth = user && *user;
	/* Attack: a man in the middle strips the STARTTLS offer to read the
	 * replies (and the password): without TLS nothing but EHLO and QUIT
	 * leaves unless the admin chose opportunistic, and never a password */
	if (!ss->tls && auth) {
		*ss->why = g_strdup_printf("SMTP: server offers no STARTTLS (%s); refusing to send the password in clear",
		                           ss->host);
		return SEND_SERVER;
	}
	if (!ss->tls && c->starttls == STARTTLS_REQUIRED) {
		*ss->why = g_strdup_printf("SMTP: server offers no STARTTLS (%s); not sending in clear "
		                           "([mail] starttls = required)", ss->host);
		return SEND_SERVER;
	}
	if (auth) {
		step(ss);
		r = mailsmtp_auth(ss->smtp, user, pass ? pass : "");
		if (r != MAILSMTP_NO_ERROR)
			return smtp_fail(ss, "AUTH", r, false);
	}
	return SEND_OK;
}

/* MAIL, RCPT, DATA and the message. */
static enum send_result smtp_envelope(struct smtp_session *ss, const char *sender, const char *rcpt,
                                      const char *data, size_t len)
{
	mailsmtp *smtp = ss->smtp;
	step(ss);
	int r = ss->esmtp ? mailesmtp_mail(smtp, sender, 0, NULL) : mailsmtp_mail(smtp, sender);
	if (r != MAILSMTP_NO_ERROR)
		return smtp_fail(ss, "MAIL FROM", r, false);
	step(ss);
	r = ss->esmtp ? mailesmtp_rcpt(smtp, rcpt, 0, NULL) : mailsmtp_rcpt(smtp, rcpt);
	if (r != MAILSMTP_NO_ERROR)
		return smtp_fail(ss, "RCPT TO", r, true);
	step(ss);
	r = mailsmtp_data(smtp);
	if (r != MAILSMTP_NO_ERROR)
		return smtp_fail(ss, "DATA", r, true);
	/* libetpan converts LF to CRLF and dot-stuffs lines */
	step(ss);
	r = mailsmtp_data_message(smtp, data, len);
	if (r != MAILSMTP_NO_ERROR)
		return smtp_fail(ss, "end of DATA", r, true);
	return SEND_OK;
}

static enum send_result send_smtp(const struct sercom_conf *c, const char *file, const char *sender,
                                  const char *rcpt, char **why)
{
	/* checked by conf_load; its error message would quote the password */
	g_autoptr(GUri) u = g_uri_parse(c->transport, G_URI_FLAGS_HAS_PASSWORD, NULL);
	if (!u || !g_uri_get_host(u) || !*g_uri_get_host(u)) {
		*why = g_strdup("[mail] transport: not a valid smtp:// URL");
		return SEND_SERVER;
	}
	g_autofree char *data = NULL;
	gsize len = 0;
	GError *e = NULL;
	if (!g_file_get_contents(file, &data, &len, &e)) {
		*why = g_strdup(e->message);
		g_error_free(e);
		return SEND_RETRY;
	}
	struct smtp_session ss = {.c = c, .host = g_uri_get_host(u), .esmtp = true, .why = why,
	                          .tls = !strcmp(g_uri_get_scheme(u), "smtps")};
	int port = g_uri_get_port(u);
	if (port <= 0)
		port = ss.tls ? 465 : 25;
	/* one deadline per read and write: libetpan's streams wait
	 * mailstream_network_delay (5 minutes by default), the session's
	 * timeout covers only the connection */
	mailstream_network_delay.tv_sec = c->timeout;
	mailstream_network_delay.tv_usec = 0;
	ss.smtp = mailsmtp_new(0, NULL);
	mailsmtp_set_timeout(ss.smtp, c->timeout);
	enum send_result res = smtp_open(&ss, port, g_uri_get_user(u), g_uri_get_password(u));
	if (res == SEND_OK)
		res = smtp_envelope(&ss, sender, rcpt, data, len);
	if (res == SEND_OK)
		mailsmtp_quit(ss.smtp);
	else if (ss.smtp->stream && !strstr(*why ? *why : "", "timeout"))
		mailsmtp_quit(ss.smtp);
	mailsmtp_free(ss.smtp);
	return res;
}

/* ---- the queue ------------------------------------------------------- */

static enum send_result send_one(const struct sercom_conf *c, const char *file, const char *sender,
                                 const char *rcpt, char **why)
{
	const char *t = c->transport ? c->transport : "sendmail";
	/* the composer checked the recipient (util_address_ok); a row edited
	 * by hand must not smuggle an option to sendmail, a second recipient
	 * or an SMTP command either */
	if (!util_address_ok(rcpt)) {
		*why = g_strdup("invalid recipient address (not one plain local@domain)");
		return SEND_PERMANENT;
	}
	if (!util_address_ok(sender)) {
		*why = g_strdup("invalid sender address: check [mail] admin");
		return SEND_SERVER;
	}
	if (!strcmp(t, "sendmail"))
		return send_sendmail(c, file, sender, rcpt, why);
	if (g_str_has_prefix(t, "maildir:"))
		return send_maildir(c, t + strlen("maildir:"), file, why);
	if (g_str_has_prefix(t, "smtp://") || g_str_has_prefix(t, "smtps://"))
		return send_smtp(c, file, sender, rcpt, why);
	g_autofree char *shown = conf_redact(t);
	*why = g_strdup_printf("[mail] transport: unknown transport \"%s\"", shown);
	return SEND_SERVER;
}

/* Claims row id if still PENDING, due and not held by a live sender;
 * *won = whether we got it. A hold older than the lease is a sender that
 * died mid-send: the reply may have gone, and the row says so. */
static bool claim(const struct sercom_conf *c, struct store *s, int64_t id, int64_t now, bool *won, GError **err)
{
	*won = false;
	int64_t lease = CLAIM_LEASE(c);
	if (!store_begin(s, err))
		return false;
	if (!store_exec(s, err,
	                "UPDATE outbox SET tries = tries + 1, next_try = %lld, sending = %lld,"
	                " maybe_sent = maybe_sent OR sending IS NOT NULL"
	                " WHERE id = %lld AND state = 'PENDING' AND next_try <= %lld"
	                " AND (sending IS NULL OR sending <= %lld)",
	                (long long)(now + lease), (long long)now, (long long)id, (long long)now,
	                (long long)(now - lease))) {
		store_rollback(s);
		return false;
	}
	*won = sqlite3_changes(store_db(s)) == 1;
	return store_commit(s, err);
}

struct row {
	int64_t id, tries, created;
	bool for_attempt, maybe_sent;
	char *file, *sender, *rcpt;
};

static void row_clear(struct row *w)
{
	g_free(w->file);
	g_free(w->sender);
	g_free(w->rcpt);
	memset(w, 0, sizeof *w);
}

/* The next due PENDING row after last_id: 1, 0 when none, -1 on error. */
static int next_row(struct store *s, int64_t now, int64_t last_id, struct row *w, GError **err)
{
	/* one row at a time, in id order: rows added while we send (an admin
	 * notice of a FAILED one) are picked up in this same flush */
	sqlite3_stmt *st = store_prepare(s,
		"SELECT id, attempt, file, sender, recipients, tries, created, maybe_sent OR sending IS NOT NULL FROM outbox"
		" WHERE state = 'PENDING' AND next_try <= ? AND id > ? ORDER BY id LIMIT 1", err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, last_id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc == SQLITE_DONE)
			return 0;
		store_set_error(s, err, "reading the outbox");
		return -1;
	}
	w->id = sqlite3_column_int64(st, 0);
	w->for_attempt = sqlite3_column_type(st, 1) != SQLITE_NULL;
	w->file = g_strdup((const char *)sqlite3_column_text(st, 2));
	w->sender = g_strdup((const char *)sqlite3_column_text(st, 3));
	w->rcpt = g_strdup((const char *)sqlite3_column_text(st, 4));
	w->tries = sqlite3_column_int64(st, 5) + 1;
	w->created = sqlite3_column_int64(st, 6);
	w->maybe_sent = sqlite3_column_int64(st, 7) != 0;
	sqlite3_finalize(st);
	return 1;
}

static void notify_failed(const struct sercom_conf *c, struct store *s, const struct row *w, const char *why)
{
	/* never about a notice to the admin itself: that would loop */
	if (!w->for_attempt)
		return;
	g_autofree char *subj = g_strdup_printf("reply to %s could not be sent", w->rcpt);
	g_autofree char *body = g_strdup_printf(
		"The reply in %s (outbox %lld) to %s was given up after %lld tries.\n"
		"Last error: %s\n\nResend it with: sercom resend ATTEMPT (or sercom outbox retry --failed)\n",
		w->file, (long long)w->id, w->rcpt, (long long)w->tries, why);
	GError *ne = NULL;
	if (!compose_admin_notice(c, s, subj, body, &ne)) {
		log_warn("outbox %lld: admin notice: %s", (long long)w->id, ne->message);
		g_error_free(ne);
	}
}

static int64_t backoff(int64_t tries)
{
	int64_t delay = BACKOFF_FIRST;
	for (int64_t i = 1; i < tries && delay < BACKOFF_MAX; i++)
		delay *= 2;
	return MIN(delay, BACKOFF_MAX);
}

/* Records the outcome of one send and drops the hold. *server_down is set
 * on a server-wide refusal: the flush stops and the other due rows wait. */
static bool finish(const struct sercom_conf *c, struct store *s, const struct row *w, enum send_result r,
                   const char *why, bool *server_down, GError **err)
{
	int64_t now = util_now();
	long long id = (long long)w->id;
	if (r == SEND_OK) {
		log_info("outbox %lld: sent to %s%s", id, w->rcpt,
		         w->maybe_sent ? " (a resend: an earlier send was cut off, it may already have been sent)" : "");
		return store_exec(s, err, "UPDATE outbox SET state = 'SENT', sent = %lld, last_error = NULL, sending = NULL,"
		                  " server_error = 0 WHERE id = %lld", (long long)now, id);
	}
	if (r == SEND_PERMANENT || now - w->created >= c->retry_max_age) {
		log_error("outbox %lld: to %s: FAILED after %lld tries: %s", id, w->rcpt, (long long)w->tries, why);
		if (!store_exec(s, err, "UPDATE outbox SET state = 'FAILED', last_error = %Q, sending = NULL,"
		                " server_error = %d WHERE id = %lld", why, r == SEND_SERVER, id))
			return false;
		notify_failed(c, s, w, why);
		return true;
	}
	int64_t delay = backoff(w->tries);
	*server_down = r == SEND_SERVER;
	log_warn("outbox %lld: to %s: %s (try %lld, again in %lld s)", id, w->rcpt, why, (long long)w->tries,
	         (long long)delay);
	if (!store_exec(s, err, "UPDATE outbox SET next_try = %lld, last_error = %Q, sending = NULL, server_error = %d"
	                " WHERE id = %lld", (long long)(now + delay), why, r == SEND_SERVER, id))
		return false;
	/* every other reply would get the same answer now: they wait as long
	 * (without a try counted) instead of each costing a timeout */
	return !*server_down ||
	       store_exec(s, err, "UPDATE outbox SET next_try = max(next_try, %lld) WHERE state = 'PENDING'"
	                  " AND sending IS NULL", (long long)(now + delay));
}

/* A server-wide problem is logged as an error once when it starts and
 * once when it ends (the per-row lines are warnings): the admin's notice
 * would go through the failing server. */
static void report_server(struct store *s, bool was_down, bool down, const char *why)
{
	if (down && !was_down)
		log_error("replies cannot be sent: %s; every reply waits and is retried with backoff "
		          "(sercom outbox, sercom stats)", why);
	else if (!down && was_down) {
		int64_t left = 0;
		store_query_int(s, &left, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'PENDING' AND server_error = 1");
		if (!left)
			log_info("replies are being sent again");
	}
}

static bool stop_now(int stop_fd)
{
	struct pollfd p = {.fd = stop_fd, .events = POLLIN};
	return stop_fd >= 0 && poll(&p, 1, 0) > 0;
}

int transport_flush_until(const struct sercom_conf *c, struct store *s, int stop_fd, GError **err)
{
	int sent = 0;
	int64_t last_id = 0;
	int64_t down = 0;
	store_query_int(s, &down, 0, NULL, "SELECT count(*) FROM outbox WHERE state = 'PENDING' AND server_error = 1");
	bool was_down = down > 0;
	while (!stop_now(stop_fd)) {
		struct row w = {0};
		int64_t now = util_now();
		int got = next_row(s, now, last_id, &w, err);
		if (got <= 0) {
			if (got < 0)
				sent = -1;
			break;
		}
		last_id = w.id;
		bool won, server_down = false;
		if (!claim(c, s, w.id, now, &won, err)) {
			row_clear(&w);
			sent = -1;
			break;
		}
		if (!won) {
			row_clear(&w);
			continue;
		}
		g_autofree char *why = NULL;
		enum send_result r = send_one(c, w.file, w.sender ? w.sender : "", w.rcpt ? w.rcpt : "", &why);
		bool ok = finish(c, s, &w, r, why, &server_down, err);
		row_clear(&w);
		if (!ok) {
			sent = -1;
			break;
		}
		if (r == SEND_OK || server_down) {
			report_server(s, was_down, server_down, why);
			was_down = server_down;
		}
		sent += r == SEND_OK;
		if (server_down)
			break;
	}
	return sent;
}

int transport_flush(const struct sercom_conf *c, struct store *s, GError **err)
{
	return transport_flush_until(c, s, -1, err);
}

int64_t transport_claim_lease(const struct sercom_conf *c)
{
	return CLAIM_LEASE(c);
}

int64_t transport_next_due(struct store *s)
{
	int64_t next = -1;
	if (!store_query_int(s, &next, -1, NULL, "SELECT coalesce(min(next_try), -1) FROM outbox WHERE state = 'PENDING'"))
		return -1;
	if (next < 0)
		return -1;
	int64_t d = next - util_now();
	return d > 0 ? d : 0;
}
