/* policy: what the MDA decides about a parsed mail. See policy.h. */
#include "policy.h"
#include "util.h"

#include <string.h>

static const char *const reason_names[] = {
	[REJECT_NONE] = NULL,
	[REJECT_UNKNOWN_SENDER] = "unknown_sender",
	[REJECT_UNTRUSTED_SENDER] = "untrusted_sender",
	[REJECT_UNKNOWN_EXERCISE] = "unknown_exercise",
	[REJECT_NOT_OPEN] = "not_open",
	[REJECT_CLOSED] = "closed",
	[REJECT_ATTEMPTS_EXHAUSTED] = "attempts_exhausted",
	[REJECT_NO_FILES] = "no_files",
	[REJECT_MISSING_REQUIRED] = "missing_required",
	[REJECT_BAD_ARCHIVE] = "bad_archive",
	[REJECT_TOO_LARGE] = "too_large",
	[REJECT_UNAUTHENTICATED] = "unauthenticated",
	[REJECT_RATE_LIMITED] = "rate_limited",
};

const char *policy_reason_name(enum reject_reason r)
{
	return (unsigned)r < G_N_ELEMENTS(reason_names) ? reason_names[r] : NULL;
}

enum reject_reason policy_reason_from_name(const char *name)
{
	for (size_t i = 1; name && i < G_N_ELEMENTS(reason_names); i++)
		if (!strcmp(reason_names[i], name))
			return (enum reject_reason)i;
	return REJECT_NONE;
}

/* The known exercise spelled word, case-insensitively, or NULL. */
static const char *match_exercise(char **known, const char *word)
{
	if (!word || !*word)
		return NULL;
	for (char **k = known; k && *k; k++)
		if (!g_ascii_strcasecmp(*k, word))
			return *k;
	return NULL;
}

/* "robot+tp1@x" -> "tp1"; NULL when the local part has no '+'. */
static char *plus_tag(const char *addr)
{
	const char *at = strrchr(addr, '@');
	const char *plus = strchr(addr, '+');
	if (!plus || (at && plus > at))
		return NULL;
	return g_strndup(plus + 1, at ? (size_t)(at - plus - 1) : strlen(plus + 1));
}

char *policy_pick_exercise(char **known, const char *opt_e, const char *env_extension,
                           const char *const *recipients, const char *subject, char **tried)
{
	const char *m;
	*tried = NULL;
	/* explicit choices are final: a typo in -e or +tag is answered as an
	 * unknown exercise rather than guessed from the subject */
	const char *explicit = opt_e && *opt_e ? opt_e : env_extension && *env_extension ? env_extension : NULL;
	if (explicit) {
		if ((m = match_exercise(known, explicit)))
			return g_strdup(m);
		*tried = g_strdup(explicit);
		return NULL;
	}
	for (const char *const *r = recipients; r && *r; r++) {
		g_autofree char *tag = plus_tag(*r);
		if (!tag)
			continue;
		if ((m = match_exercise(known, tag)))
			return g_strdup(m);
		if (!*tried)
			*tried = g_strdup(tag);
	}
	if (subject) {
		/* the first word of the Subject that names an exercise ("Re:",
		 * "entrega" and punctuation around the name are skipped) */
		char **words = g_strsplit_set(subject, " \t,;:[](){}<>\"'", -1);
		for (char **w = words; *w; w++) {
			if ((m = match_exercise(known, *w))) {
				char *r = g_strdup(m);
				g_strfreev(words);
				g_free(*tried);
				*tried = NULL;
				return r;
			}
		}
		if (!*tried) {
			for (char **w = words; *w; w++)
				if (**w && g_ascii_strcasecmp(*w, "re") && g_ascii_strcasecmp(*w, "fwd") &&
				    g_ascii_strcasecmp(*w, "fw")) {
					*tried = g_strndup(*w, 64);
					break;
				}
		}
		g_strfreev(words);
	}
	return NULL;
}

const char *policy_automatic(const struct mime_info *m, const char *envelope_sender)
{
	/* answering these would start a mail loop (RFC 3834 section 2) or
	 * answer a mailing list */
	if (envelope_sender && !*envelope_sender)
		return "null envelope sender (bounce)";
	if (envelope_sender && mime_robot_address(envelope_sender))
		return "envelope sender of a robot (RFC 3834)";
	if (m->automatic)
		return m->automatic_why ? m->automatic_why : "automatic mail";
	if (!m->from_addr && !envelope_sender)
		return "no sender address";
	return NULL;
}

int policy_late_days(const struct exercise *e, const struct policy_terms *ext, int64_t now)
{
	return score_late_days(score_deadline(e->closes, ext ? ext->until : 0), now);
}

enum reject_reason policy_check_window(const struct exercise *e, const struct policy_terms *ext, int64_t now,
                                       int64_t used, char **detail)
{
	*detail = NULL;
	if (e->opens && now < e->opens) {
		*detail = g_strdup_printf("%lld", (long long)e->opens);
		return REJECT_NOT_OPEN;
	}
	if (!score_late_allowed(&e->late, policy_late_days(e, ext, now))) {
		*detail = g_strdup_printf("%lld", (long long)score_deadline(e->closes, ext ? ext->until : 0));
		return REJECT_CLOSED;
	}
	int max = ext && ext->max_attempts > 0 ? ext->max_attempts : e->max_attempts;
	if (max > 0 && used >= max) {
		*detail = g_strdup_printf("%d", max);
		return REJECT_ATTEMPTS_EXHAUSTED;
	}
	return REJECT_NONE;
}

enum reject_reason policy_check_rate(const struct exercise *e, int64_t now, int64_t last, int64_t oldest_in_day,
                                     int64_t in_day, char **detail)
{
	*detail = NULL;
	int64_t interval = (int64_t)(e->limits.min_interval_ms / 1000);
	if (interval > 0 && last && now < last + interval) {
		*detail = g_strdup_printf("interval:%lld:%lld", (long long)interval, (long long)(last + interval));
		return REJECT_RATE_LIMITED;
	}
	if (e->limits.max_per_day > 0 && (uint64_t)in_day >= e->limits.max_per_day) {
		*detail = g_strdup_printf("day:%llu:%lld", (unsigned long long)e->limits.max_per_day,
		                          (long long)(oldest_in_day + 86400));
		return REJECT_RATE_LIMITED;
	}
	return REJECT_NONE;
}
