/* authres: whether a mail's From: is authenticated, read from the
 * Authentication-Results header fields (RFC 8601) that our own MTA wrote
 * (opendkim, opendmarc as milters of postfix; README "Authenticating
 * senders"). sercom verifies no signature itself: the MTA did, and wrote
 * down what it found; this module reads that record, and only the part of
 * it the sender cannot have written.
 *
 * Pure functions over bytes: no GMime, no I/O, so the fuzz target
 * (tests/fuzz/fuzz_authres.c) and the unit tests (tests/unit/test_authres.c)
 * drive it directly. */
#ifndef SERCOM_AUTHRES_H
#define SERCOM_AUTHRES_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* One resinfo of a header: "dkim=pass header.d=example.edu". */
struct authres_result {
	char *method;  /* lowercased, without "/version" */
	char *result;  /* lowercased */
	char *reason;  /* reason=..., or NULL */
	GHashTable *props; /* "header.d" (lowercased) -> value, as written */
};

/* One parsed Authentication-Results value. */
struct authres {
	char *authserv_id;  /* as written (compared case-insensitively) */
	GPtrArray *results; /* struct authres_result *, in order; empty for "none" */
};

/* Parses one header value (what follows "Authentication-Results:",
 * unfolded or not). NULL when it has no authserv-id or is not RFC 8601
 * syntax; a resinfo that does not parse ends the list (what came before
 * is kept). Linear in len. */
struct authres *authres_parse(const char *value, size_t len);
void authres_free(struct authres *a);

/* Relaxed alignment without a public-suffix list (RFC 7489 section 3.1
 * would compare organizational domains): a is b, or b is a subdomain of
 * a and a has at least two labels. A signer's domain may vouch for its
 * subdomains (it controls their DNS), never the other way round, and a
 * bare TLD vouches for nothing. */
bool authres_aligned(const char *signer_domain, const char *from_domain);

/* The decision on one mail. head: the raw header block of the message
 * (the part before the first empty line; more is ignored; may be cut).
 * ids: our authserv-ids ([mail] authserv_id), NULL-terminated.
 * from_addr: the From: address the student is identified by.
 * Returns whether the mail is authenticated; *how (g_free) says why, for
 * the record and for staff: "dmarc=pass header.from=example.edu",
 * "dkim=pass header.d=example.edu", "spf=pass smtp.mailfrom=...", or what
 * was found instead ("dkim=fail", "no Authentication-Results by ..."). */
bool authres_check(const char *head, size_t len, char *const *ids, const char *from_addr, char **how);

/* Whether addr is exempt: an item of list (NULL-terminated) is the whole
 * address, or "@domain" / "domain" for every address of that domain. */
bool authres_exempt(char *const *list, const char *addr);

#endif
