/* conf: the instance configuration (docs/ARCHITECTURE.md section 3), read with GKeyFile.
 * Relative paths are resolved against the config file's directory so an
 * instance (config + var/) is self-contained. Errors name file, group, key. */
#ifndef SERCOM_CONF_H
#define SERCOM_CONF_H

#include <glib.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

/* Resource limits; used for the instance, an exercise and a case, each level
 * overriding the keys it names. */
struct limits {
	uint64_t message_size;  /* bytes of one incoming mail */
	uint64_t unpacked_size; /* bytes after unpacking archives */
	uint64_t files;         /* files in one submission */
	uint64_t cpu_ms;
	uint64_t wall_ms;
	uint64_t memory;        /* bytes */
	uint64_t output;        /* bytes per stream */
	uint64_t procs;
	uint64_t file_size;     /* bytes */
	/* [build-limits] only: the build runs in a tmpfs of this size and
	 * this many inodes (0 elsewhere) */
	uint64_t space;         /* bytes */
	uint64_t inodes;
	/* [limits] only, per student and exercise (ingest.c): mails sooner
	 * than min_interval after the last accepted one, or beyond
	 * max_per_day accepted ones in 24 h, are REJECTED rate_limited
	 * (0: no limit) */
	uint64_t min_interval_ms;
	uint64_t max_per_day;
};

enum unknown_sender_policy { UNKNOWN_REJECT, UNKNOWN_IGNORE, UNKNOWN_ACCEPT };
/* [mail] authenticate (authres.h): off, warn (graded, marked), require
 * (REJECTED unauthenticated) */
enum auth_mode { AUTH_OFF, AUTH_WARN, AUTH_REQUIRE };
enum grade_pick { GRADE_BEST, GRADE_LAST };
/* [mail] starttls: what smtp:// does when the server offers no STARTTLS */
enum starttls_mode { STARTTLS_REQUIRED, STARTTLS_OPPORTUNISTIC };

struct sercom_conf {
	char *path;         /* the config file */
	char *dir;          /* its directory: base of relative paths */

	/* [general] */
	char *var;          /* spool root */
	char *exercises;    /* directory of exercise definitions */
	char *templates;    /* conf/templates (language subdirs) */
	char *language;
	int workers;
	int retention_days;

	/* [mail] */
	char *from;
	char *admin;
	char *prefix;
	char *transport;
	/* the replies' envelope sender, before its "+bounce-ID-MAC" (bounce.h);
	 * default: from */
	char *bounce_address;
	enum unknown_sender_policy unknown_sender;
	GRegex *trusted;    /* NULL: everyone may be a student */
	enum auth_mode authenticate;
	char **authserv_ids;   /* NULL-terminated, never NULL: our MTA's authserv-ids */
	char **auth_exempt;    /* NULL-terminated, never NULL: addresses, @domains */
	bool show_private_count;
	uint64_t reply_max; /* bytes of one reply */
	uint64_t diff_max;  /* bytes of one diff attachment */
	int64_t retry_max_age; /* seconds before an unsent reply is FAILED */
	enum grade_pick grade_pick;
	/* how replies leave (transport.c): [mail] starttls (required by default
	 * when tls_verify is on), tls_verify, tls_ca (NULL: the system store)
	 * and timeout (seconds per SMTP read or write, and for sendmail) */
	enum starttls_mode starttls;
	bool tls_verify;
	char *tls_ca;
	int timeout;

	/* [limits], [build-limits] */
	struct limits limits;
	struct limits build_limits;

	/* [sandbox] */
	uid_t uid_base;
	char **binds;       /* NULL-terminated host dirs bound read-only */

	/* derived spool paths */
	char *mail_dir;     /* var/mail (Maildir of raw messages) */
	char *attempts_dir; /* var/attempts */
	char *outbox_dir;   /* var/outbox (Maildir of replies) */
	char *db_path;      /* var/sercom.db */
	char *fifo_path;    /* var/runner.fifo */
};

/* Whether the reply templates of [general] language are all there and
 * strings.ini parses; the error names the file and the key to change.
 * Checked by `sercom init`, `sercom doctor` and the runner's start, not
 * once per reply. */
bool conf_check_templates(const struct sercom_conf *c, GError **err);
/* Loads path (NULL: $SERCOM_CONF, else /etc/sercom/sercom.conf). */
struct sercom_conf *conf_load(const char *path, GError **err);
void conf_free(struct sercom_conf *c);
/* The built-in defaults of [limits] and [build-limits]. */
void conf_default_limits(struct limits *l);
void conf_default_build_limits(struct limits *l);
/* Overrides *l with the keys present in group of kf; errors name file. */
bool conf_read_limits(GKeyFile *kf, const char *file, const char *group,
                      struct limits *l, GError **err);
/* The sandbox bind (an item of c->binds) that path lies under, or that
 * lies under path (both are seen by every program: var/ under /usr, or
 * /var/lib/sercom/attempts bound), comparing real paths; NULL when none. */
const char *conf_bind_exposing(const struct sercom_conf *c, const char *path);
/* Reads an optional date/bool key with an error naming file, group and
 * key; leaves *out untouched when the key is absent. */
bool conf_get_date(GKeyFile *kf, const char *file, const char *group, const char *key, int64_t *out, GError **err);
bool conf_get_bool(GKeyFile *kf, const char *file, const char *group, const char *key, bool *out, GError **err);
bool conf_get_int(GKeyFile *kf, const char *file, const char *group, const char *key, int64_t *out, GError **err);
/* transport with the user and password of a URL replaced by three stars,
 * for every message and log line (g_free the result). */
char *conf_redact(const char *transport);
/* Loads a key file with an error that names the file and line. */
GKeyFile *conf_keyfile_load(const char *file, GError **err);

#endif
