/* transport: sends the outbox (docs/ARCHITECTURE.md sections 1 and 7).
 *
 * Theory of operation
 *   Every reply is already durable in var/outbox and has an outbox row
 *   (compose.c) before anything is sent. transport_flush() takes the due
 *   PENDING rows one at a time and, for each:
 *     1. claims it: in one BEGIN IMMEDIATE transaction, tries + 1 and
 *        next_try pushed CLAIM_LEASE seconds ahead, only if the row is still
 *        PENDING and due. Another runner flushing at the same time finds it
 *        not due and skips it: two processes never send the same row at once.
 *     2. sends it with the configured transport;
 *     3. marks it SENT, or PENDING again with next_try = now + backoff and
 *        last_error, or FAILED after [mail] retry_max_age (the admin is told).
 *   A crash between 2 and 3 leaves the row PENDING with next_try in the
 *   future: after the lease it is sent again. That is the only duplicate
 *   possible (at most one per crash), and we prefer it to losing a reply:
 *   there is no way to make "hand to the MTA" and "commit" one atomic step.
 *
 * Transports ([mail] transport)
 *   sendmail       $SERCOM_SENDMAIL or /usr/sbin/sendmail, run as
 *                  `sendmail -i -f ADMIN -- RCPT` with fork/execv and the
 *                  message file on stdin. Never -t: the recipients come
 *                  from the row, never from headers (a forged Bcc: in
 *                  anything would otherwise become a recipient). Exit 0 =
 *                  sent; anything else is retried.
 *   smtp://[user:pass@]host[:port]    libetpan; STARTTLS when offered (and
 *                  required when a password is given), AUTH with the
 *                  URL's credentials.
 *   smtps://[user:pass@]host[:port]   TLS from the first byte (port 465).
 *                  libetpan's GnuTLS build does not verify certificates, so
 *                  we verify the peer's chain and host name with GnuTLS
 *                  against the system trust store (or [mail] tls_ca) and
 *                  refuse to send otherwise (a man in the middle would read
 *                  every student's results and the SMTP password), unless
 *                  [mail] tls_verify = no.
 *   maildir:PATH   delivers into a Maildir (PATH relative to the config
 *                  directory); for demos and tests.
 *   Permanent SMTP refusals (5xx) are not retried: the row is FAILED at
 *   once and the admin is told.
 */
#define _GNU_SOURCE /* pipe2 */
#include "transport.h"
#include "compose.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* how long a claimed row is not retried: longer than any send takes */
#define CLAIM_LEASE 600
/* backoff: 1 min, doubling, at most 1 h */
#define BACKOFF_FIRST 60
#define BACKOFF_MAX 3600
/* how much of sendmail's stderr we keep for last_error */
#define ERRTEXT_MAX 1024
#define SMTP_TIMEOUT 60

enum send_result { SEND_OK, SEND_RETRY, SEND_PERMANENT };

struct tconf {
	bool tls_verify;
	char *tls_ca;     /* extra CA file, NULL: the system store */
};

/* [mail] tls_verify and tls_ca: read here from the config file so conf.h
 * need not know transport details. */
static void tconf_read(const struct sercom_conf *c, struct tconf *t)
{
	t->tls_verify = true;
	t->tls_ca = NULL;
	if (!c->path)
		return;
	GKeyFile *kf = conf_keyfile_load(c->path, NULL);
	if (!kf)
		return;
	GError *e = NULL;
	if (!conf_get_bool(kf, c->path, "mail", "tls_verify", &t->tls_verify, &e)) {
		log_warn("%s; verifying certificates", e->message);
		g_error_free(e);
		t->tls_verify = true;
	}
	char *ca = g_key_file_get_string(kf, "mail", "tls_ca", NULL);
	if (ca && *ca)
		t->tls_ca = util_resolve(c->dir, g_strstrip(ca));
	g_free(ca);
	g_key_file_free(kf);
}

/* ---- sendmail -------------------------------------------------------- */

static enum send_result send_sendmail(const char *file, const char *sender, const char *rcpt, char **why)
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
	pid_t pid = fork();
	if (pid < 0) {
		*why = g_strdup_printf("fork: %s", g_strerror(errno));
		close(in);
		close(pfd[0]);
		close(pfd[1]);
		return SEND_RETRY;
	}
	if (pid == 0) {
		if (dup2(in, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(75);
		signal(SIGPIPE, SIG_DFL);
		execv(prog, argv);
		_exit(127);
	}
	close(in);
	close(pfd[1]);
	GString *out = g_string_new(NULL);
	char buf[4096];
	ssize_t n;
	for (;;) {
		n = read(pfd[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->len < ERRTEXT_MAX)
			g_string_append_len(out, buf, MIN((size_t)n, ERRTEXT_MAX - out->len));
	}
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			*why = g_strdup_printf("waitpid: %s", g_strerror(errno));
			g_string_free(out, TRUE);
			return SEND_RETRY;
		}
	}
	g_strstrip(out->str);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		g_string_free(out, TRUE);
		return SEND_OK;
	}
	if (WIFEXITED(st))
		*why = g_strdup_printf("%s exited %d%s%s", prog, WEXITSTATUS(st), out->len ? ": " : "", out->str);
	else
		*why = g_strdup_printf("%s killed by signal %d", prog, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	g_string_free(out, TRUE);
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

static enum send_result smtp_fail(mailsmtp *smtp, const char *what, int r, char **why)
{
	const char *resp = smtp->response ? smtp->response : "";
	g_autofree char *clean = g_strdup(resp);
	for (char *p = clean; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	g_strstrip(clean);
	if (smtp->response_code > 0)
		*why = g_strdup_printf("SMTP %s: %d %s%s%s", what, smtp->response_code, mailsmtp_strerror(r),
		                       *clean ? ": " : "", clean);
	else
		*why = g_strdup_printf("SMTP %s: %s", what, mailsmtp_strerror(r));
	/* 5xx to MAIL, RCPT or DATA: the server will not take it, ever */
	if (smtp->response_code >= 500 && smtp->response_code < 600 && strcmp(what, "connect") &&
	    strcmp(what, "AUTH") && strcmp(what, "STARTTLS"))
		return SEND_PERMANENT;
	return SEND_RETRY;
}

static enum send_result send_smtp(const char *url, const struct tconf *tc, const char *file,
                                  const char *sender, const char *rcpt, char **why)
{
	GError *e = NULL;
	GUri *u = g_uri_parse(url, G_URI_FLAGS_HAS_PASSWORD, &e);
	if (!u) {
		*why = g_strdup_printf("[mail] transport: %s", e->message);
		g_error_free(e);
		return SEND_RETRY;
	}
	bool tls = !strcmp(g_uri_get_scheme(u), "smtps");
	const char *host = g_uri_get_host(u);
	int port = g_uri_get_port(u);
	if (port <= 0)
		port = tls ? 465 : 25;
	const char *user = g_uri_get_user(u), *pass = g_uri_get_password(u);
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!host || !*host) {
		*why = g_strdup_printf("[mail] transport: no host in %s", url);
		g_uri_unref(u);
		return SEND_RETRY;
	}
	if (!g_file_get_contents(file, &data, &len, &e)) {
		*why = g_strdup(e->message);
		g_error_free(e);
		g_uri_unref(u);
		return SEND_RETRY;
	}
	enum send_result res = SEND_RETRY;
	mailsmtp *smtp = mailsmtp_new(0, NULL);
	mailsmtp_set_timeout(smtp, SMTP_TIMEOUT);
	int r = tls ? mailsmtp_ssl_connect_with_callback(smtp, host, (uint16_t)port, set_sni, (void *)host)
	            : mailsmtp_socket_connect(smtp, host, (uint16_t)port);
	if (r != MAILSMTP_NO_ERROR) {
		res = smtp_fail(smtp, "connect", r, why);
		goto out;
	}
	if (tls && tc->tls_verify && !tls_peer_ok(smtp->stream, host, tc->tls_ca, why))
		goto out;
	bool esmtp = true;
	r = mailesmtp_ehlo(smtp);
	if (r == MAILSMTP_ERROR_NOT_IMPLEMENTED) {
		esmtp = false;
		r = mailsmtp_helo(smtp);
	}
	if (r != MAILSMTP_NO_ERROR) {
		res = smtp_fail(smtp, "EHLO", r, why);
		goto out;
	}
	if (!tls && esmtp && (smtp->esmtp & MAILSMTP_ESMTP_STARTTLS)) {
		r = mailsmtp_socket_starttls_with_callback(smtp, set_sni, (void *)host);
		if (r != MAILSMTP_NO_ERROR) {
			res = smtp_fail(smtp, "STARTTLS", r, why);
			goto out;
		}
		tls = true;
		if (tc->tls_verify && !tls_peer_ok(smtp->stream, host, tc->tls_ca, why))
			goto out;
		r = mailesmtp_ehlo(smtp);
		if (r != MAILSMTP_NO_ERROR) {
			res = smtp_fail(smtp, "EHLO after STARTTLS", r, why);
			goto out;
		}
	}
	if (user && *user) {
		/* a password on an unencrypted line is readable by anyone between */
		if (!tls) {
			*why = g_strdup_printf("SMTP: %s offers no STARTTLS; refusing to send the password in clear", host);
			goto out;
		}
		r = mailsmtp_auth(smtp, user, pass ? pass : "");
		if (r != MAILSMTP_NO_ERROR) {
			res = smtp_fail(smtp, "AUTH", r, why);
			goto out;
		}
	}
	r = esmtp ? mailesmtp_mail(smtp, sender, 0, NULL) : mailsmtp_mail(smtp, sender);
	if (r != MAILSMTP_NO_ERROR) {
		res = smtp_fail(smtp, "MAIL FROM", r, why);
		goto out;
	}
	r = esmtp ? mailesmtp_rcpt(smtp, rcpt, 0, NULL) : mailsmtp_rcpt(smtp, rcpt);
	if (r != MAILSMTP_NO_ERROR) {
		res = smtp_fail(smtp, "RCPT TO", r, why);
		goto out;
	}
	r = mailsmtp_data(smtp);
	if (r != MAILSMTP_NO_ERROR) {
		res = smtp_fail(smtp, "DATA", r, why);
		goto out;
	}
	/* libetpan converts LF to CRLF and dot-stuffs lines */
	r = mailsmtp_data_message(smtp, data, len);
	if (r != MAILSMTP_NO_ERROR) {
		res = smtp_fail(smtp, "end of DATA", r, why);
		goto out;
	}
	res = SEND_OK;
	mailsmtp_quit(smtp);
out:
	mailsmtp_free(smtp);
	g_uri_unref(u);
	return res;
}

/* ---- the queue ------------------------------------------------------- */

static enum send_result send_one(const struct sercom_conf *c, const struct tconf *tc, const char *file,
                                 const char *sender, const char *rcpt, char **why)
{
	const char *t = c->transport ? c->transport : "sendmail";
	/* the recipient was stripped of control characters by the composer; a
	 * row edited by hand must not smuggle a second SMTP command either */
	if (strpbrk(rcpt, "\r\n") || strpbrk(sender, "\r\n") || !*rcpt) {
		*why = g_strdup("recipient or sender with a line break");
		return SEND_PERMANENT;
	}
	if (!strcmp(t, "sendmail"))
		return send_sendmail(file, sender, rcpt, why);
	if (g_str_has_prefix(t, "maildir:"))
		return send_maildir(c, t + strlen("maildir:"), file, why);
	if (g_str_has_prefix(t, "smtp://") || g_str_has_prefix(t, "smtps://"))
		return send_smtp(t, tc, file, sender, rcpt, why);
	*why = g_strdup_printf("[mail] transport: unknown transport \"%s\"", t);
	return SEND_RETRY;
}

/* Claims row id if still PENDING and due; *won = whether we got it. */
static bool claim(struct store *s, int64_t id, int64_t now, bool *won, GError **err)
{
	*won = false;
	if (!store_begin(s, err))
		return false;
	if (!store_exec(s, err,
	                "UPDATE outbox SET tries = tries + 1, next_try = %lld"
	                " WHERE id = %lld AND state = 'PENDING' AND next_try <= %lld",
	                (long long)(now + CLAIM_LEASE), (long long)id, (long long)now)) {
		store_rollback(s);
		return false;
	}
	*won = sqlite3_changes(store_db(s)) == 1;
	return store_commit(s, err);
}

int transport_flush(const struct sercom_conf *c, struct store *s, GError **err)
{
	struct tconf tc;
	tconf_read(c, &tc);
	int sent = 0;
	int64_t last_id = 0;
	for (;;) {
		int64_t now = util_now();
		/* one row at a time, in id order: rows added while we send (an
		 * admin notice of a FAILED one) are picked up in this same flush */
		sqlite3_stmt *st = store_prepare(s,
			"SELECT id, attempt, file, sender, recipients, tries, created FROM outbox"
			" WHERE state = 'PENDING' AND next_try <= ? AND id > ? ORDER BY id LIMIT 1", err);
		if (!st) {
			sent = -1;
			break;
		}
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, last_id);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			if (rc != SQLITE_DONE) {
				store_set_error(s, err, "reading the outbox");
				sent = -1;
			}
			sqlite3_finalize(st);
			break;
		}
		int64_t id = sqlite3_column_int64(st, 0);
		bool for_attempt = sqlite3_column_type(st, 1) != SQLITE_NULL;
		g_autofree char *file = g_strdup((const char *)sqlite3_column_text(st, 2));
		g_autofree char *sender = g_strdup((const char *)sqlite3_column_text(st, 3));
		g_autofree char *rcpt = g_strdup((const char *)sqlite3_column_text(st, 4));
		int64_t tries = sqlite3_column_int64(st, 5) + 1;
		int64_t created = sqlite3_column_int64(st, 6);
		sqlite3_finalize(st);
		last_id = id;

		bool won;
		if (!claim(s, id, now, &won, err)) {
			sent = -1;
			break;
		}
		if (!won)
			continue;
		g_autofree char *why = NULL;
		enum send_result r = send_one(c, &tc, file, sender ? sender : "", rcpt ? rcpt : "", &why);
		now = util_now();
		bool ok;
		if (r == SEND_OK) {
			ok = store_exec(s, err, "UPDATE outbox SET state = 'SENT', sent = %lld, last_error = NULL WHERE id = %lld",
			                (long long)now, (long long)id);
			if (ok) {
				sent++;
				log_info("outbox %lld: sent to %s", (long long)id, rcpt);
			}
		} else if (r == SEND_PERMANENT || now - created >= c->retry_max_age) {
			ok = store_exec(s, err, "UPDATE outbox SET state = 'FAILED', last_error = %Q WHERE id = %lld", why,
			                (long long)id);
			log_error("outbox %lld: to %s: FAILED after %lld tries: %s", (long long)id, rcpt, (long long)tries, why);
			/* tell the admin, but never about a notice to the admin
			 * itself: that would loop */
			if (ok && for_attempt) {
				g_autofree char *subj = g_strdup_printf("reply to %s could not be sent", rcpt);
				g_autofree char *body = g_strdup_printf(
					"The reply in %s (outbox %lld) to %s was given up after %lld tries.\n"
					"Last error: %s\n\nResend it with: sercom resend ATTEMPT\n",
					file, (long long)id, rcpt, (long long)tries, why);
				GError *ne = NULL;
				if (!compose_admin_notice(c, s, subj, body, &ne)) {
					log_warn("outbox %lld: admin notice: %s", (long long)id, ne->message);
					g_error_free(ne);
				}
			}
		} else {
			int64_t delay = BACKOFF_FIRST;
			for (int64_t i = 1; i < tries && delay < BACKOFF_MAX; i++)
				delay *= 2;
			if (delay > BACKOFF_MAX)
				delay = BACKOFF_MAX;
			ok = store_exec(s, err, "UPDATE outbox SET next_try = %lld, last_error = %Q WHERE id = %lld",
			                (long long)(now + delay), why, (long long)id);
			log_warn("outbox %lld: to %s: %s (try %lld, again in %lld s)", (long long)id, rcpt, why,
			         (long long)tries, (long long)delay);
		}
		if (!ok) {
			sent = -1;
			break;
		}
	}
	g_free(tc.tls_ca);
	return sent;
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
