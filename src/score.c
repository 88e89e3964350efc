/* score: see score.h. */
#include "score.h"

#include <glib.h>
#include <math.h>
#include <string.h>

/* Whether every case of group passed. */
static bool group_passed(const struct score_case *cases, size_t n, const char *group)
{
	for (size_t i = 0; i < n; i++)
		if (cases[i].group && !strcmp(cases[i].group, group) && !cases[i].passed)
			return false;
	return true;
}

void score_cases(struct score_case *cases, size_t n, struct score_total *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		struct score_case *c = &cases[i];
		bool counts = c->passed && (!c->group || group_passed(cases, n, c->group));
		c->earned = counts ? c->points : 0;
		if (c->is_private) {
			out->private_score += c->earned;
			out->private_max += c->points;
		} else {
			out->score += c->earned;
			out->max_score += c->points;
		}
	}
}

int64_t score_deadline(int64_t closes, int64_t ext_until)
{
	return ext_until > 0 ? ext_until : closes;
}

int score_late_days(int64_t deadline, int64_t received)
{
	if (deadline <= 0 || received <= deadline)
		return 0;
	return (int)((received - deadline + 86399) / 86400);
}

bool score_late_allowed(const struct late_rule *r, int late_days)
{
	if (late_days <= 0)
		return true;
	switch (r->mode) {
	case LATE_ACCEPT:
		return true;
	case LATE_PENALTY:
		return r->max_days <= 0 || late_days <= r->max_days;
	case LATE_REJECT:
		break;
	}
	return false;
}

double score_penalty(const struct late_rule *r, int late_days)
{
	if (r->mode != LATE_PENALTY || late_days <= 0)
		return 0;
	return MIN(100.0, r->pct_per_day * late_days);
}

double score_final(double score, double private_score, double penalty)
{
	double v = (score + private_score) * (100.0 - penalty) / 100.0;
	return round(v * 100.0) / 100.0;
}

char *score_format(double v)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];
	/* %.2f through GLib's locale-independent formatter, then trimmed */
	g_ascii_formatd(buf, sizeof buf, "%.2f", round(v * 100.0) / 100.0);
	char *dot = strchr(buf, '.');
	if (dot) {
		char *end = buf + strlen(buf);
		while (end > dot + 1 && end[-1] == '0')
			*--end = '\0';
		if (end == dot + 1)
			*dot = '\0';
	}
	if (!strcmp(buf, "-0"))
		strcpy(buf, "0");
	return g_strdup(buf);
}
