/* bounce: knowing our replies' bounces (README "Bounces").
 *
 * Each reply leaves with an envelope sender (the SMTP MAIL FROM, sendmail
 * -f) of its own, VERP-style: the [mail] bounce_address (default: the
 * from address) with "+bounce-ID-MAC" after its local part, ID the
 * outbox row, MAC a keyed hash (HMAC-SHA256, cut to BOUNCE_MAC_HEX hex
 * digits) of the ID under a secret of the instance, var/bounce.key (mode
 * 0600, made at `sercom init` or first use). A delivery status
 * notification (RFC 3464) comes back to that address; the ingester
 * (ingest.c) finds the row from it and marks it BOUNCED with the failed
 * recipient's Status and Diagnostic-Code.
 *
 * Attack: a student forges a bounce naming another student's reply
 * ("+bounce-41-..." with the id of the row before theirs) so that the
 * staff believe the other student never got their result. Without the
 * secret the MAC cannot be made: an address whose MAC does not check
 * names no row, whatever the mail quotes (X-Sercom-* headers of the
 * original reply are only compared with the row the MAC names). */
#ifndef SERCOM_BOUNCE_H
#define SERCOM_BOUNCE_H

#include "conf.h"
#include <glib.h>
#include <gmime/gmime.h>
#include <stdbool.h>
#include <stdint.h>

#define BOUNCE_KEY_FILE "bounce.key"
#define BOUNCE_MAC_HEX 16
#define BOUNCE_TAG "bounce-"

/* The instance's secret (var/bounce.key), made when missing: random, mode
 * 0600, owned by the owner of var/ (the ingester runs as that user, the
 * composer may run as root). NULL with err when it cannot be read or
 * made. g_free the result. */
char *bounce_secret(const struct sercom_conf *c, GError **err);

/* The envelope sender for outbox row id: "LOCAL+bounce-ID-MAC@DOMAIN" of
 * base, a bare address. g_free the result. */
char *bounce_address_make(const char *base, int64_t id, const char *secret);
/* The outbox row an address made by bounce_address_make names, or 0 when
 * it is none of ours (no tag, a bad MAC). Case does not matter (an MTA
 * may fold it). s may also be the tag alone ("bounce-ID-MAC": postfix's
 * $EXTENSION). */
int64_t bounce_address_parse(const char *s, const char *secret);

/* What a delivery status notification says of its first failed
 * recipient. */
struct bounce_dsn {
	bool failed;        /* a recipient with Action: failed */
	char *action;       /* of the recipient kept (failed, delayed...) */
	char *recipient;    /* Final-Recipient's address */
	char *status;       /* e.g. 5.1.1 */
	char *diagnostic;   /* Diagnostic-Code, unfolded, one line */
	char *attempt;      /* X-Sercom-Attempt of the returned reply, or NULL */
};

/* The notification msg is, or NULL when it is none: a multipart/report
 * of report-type delivery-status (or global-delivery-status, RFC 6533)
 * with its message/delivery-status part. */
struct bounce_dsn *bounce_dsn_parse(GMimeMessage *msg);
/* The same for the message on stream (read from its current position). */
struct bounce_dsn *bounce_dsn_read(GMimeStream *stream);
void bounce_dsn_free(struct bounce_dsn *d);
/* "STATUS DIAGNOSTIC (RECIPIENT)" for the outbox row: one line of
 * printable characters, at most 500 bytes. g_free the result. */
char *bounce_dsn_reason(const struct bounce_dsn *d);

#endif
