/* envelope: the spool file's first line. See envelope.h. */
#include "envelope.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

static const char *const keys[] = { "sender", "recipient", "exercise", "extension" };

static char **value_slot(struct envelope *e, size_t i)
{
	char **slots[] = { &e->sender, &e->recipient, &e->exercise, &e->extension };
	return slots[i];
}

/* " key=VALUE", escaped; false when it does not fit */
static bool append_value(char *buf, size_t size, size_t *at, const char *key, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	int n = snprintf(buf + *at, size - *at, " %s=", key);
	if (n < 0 || (size_t)n >= size - *at)
		return false;
	*at += (size_t)n;
	for (size_t i = 0; v[i] && i < ENVELOPE_VALUE_MAX; i++) {
		unsigned char c = (unsigned char)v[i];
		bool plain = c > ' ' && c < 0x7f && c != '%';
		if (*at + (plain ? 1 : 3) >= size)
			return false;
		if (plain) {
			buf[(*at)++] = (char)c;
		} else {
			buf[(*at)++] = '%';
			buf[(*at)++] = hex[c >> 4];
			buf[(*at)++] = hex[c & 15];
		}
	}
	return true;
}

size_t envelope_format(const struct envelope *e, char *buf, size_t size)
{
	int n = snprintf(buf, size, ENVELOPE_MAGIC "size=%0*" PRIu64 " truncated=%d time=%" PRId64,
	                 ENVELOPE_SIZE_DIGITS, e->size, e->truncated ? 1 : 0, e->time);
	if (n < 0 || (size_t)n >= size)
		return 0;
	size_t at = (size_t)n;
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const char *v = *value_slot((struct envelope *)e, i);
		if (v && !append_value(buf, size, &at, keys[i], v))
			return 0;
	}
	if (at + 1 >= size)
		return 0;
	buf[at++] = '\n';
	buf[at] = 0;
	return at;
}

void envelope_patch(char *line, uint64_t size, bool truncated)
{
	char digits[ENVELOPE_SIZE_DIGITS + 1];
	snprintf(digits, sizeof digits, "%0*" PRIu64, ENVELOPE_SIZE_DIGITS, size);
	memcpy(line + ENVELOPE_SIZE_OFFSET, digits, ENVELOPE_SIZE_DIGITS);
	line[ENVELOPE_TRUNC_OFFSET] = truncated ? '1' : '0';
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < len &&
		    (hi = unhex(s[i + 1])) >= 0 && (lo = unhex(s[i + 2])) >= 0) {
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = 0;
	return out;
}

/* One "key=value" word of the line. Unknown keys are skipped: a newer
 * sercom-deliver may write more. */
static bool parse_word(const char *w, size_t len, struct envelope *e)
{
	const char *eq = memchr(w, '=', len);
	if (!eq)
		return false;
	size_t klen = (size_t)(eq - w), vlen = len - klen - 1;
	const char *v = eq + 1;
	char num[32];
	if (vlen < sizeof num) {
		memcpy(num, v, vlen);
		num[vlen] = 0;
	} else {
		num[0] = 0;
	}
	char *end;
	if (klen == 4 && !memcmp(w, "size", 4)) {
		e->size = strtoull(num, &end, 10);
		return *num && !*end;
	}
	if (klen == 9 && !memcmp(w, "truncated", 9)) {
		e->truncated = !strcmp(num, "1");
		return true;
	}
	if (klen == 4 && !memcmp(w, "time", 4)) {
		e->time = strtoll(num, &end, 10);
		return *num && !*end;
	}
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		if (strlen(keys[i]) == klen && !memcmp(w, keys[i], klen)) {
			char **slot = value_slot(e, i);
			free(*slot);
			*slot = unescape(v, vlen);
			return *slot != NULL;
		}
	}
	return true;
}

bool envelope_parse(const char *line, size_t len, struct envelope *e)
{
	memset(e, 0, sizeof *e);
	size_t m = sizeof ENVELOPE_MAGIC - 1;
	if (len < m || memcmp(line, ENVELOPE_MAGIC, m))
		return false;
	for (size_t i = m; i < len;) {
		size_t j = i;
		while (j < len && line[j] != ' ')
			j++;
		if (j > i && !parse_word(line + i, j - i, e)) {
			envelope_clear(e);
			return false;
		}
		i = j + 1;
	}
	return true;
}

void envelope_clear(struct envelope *e)
{
	free(e->sender);
	free(e->recipient);
	free(e->exercise);
	free(e->extension);
	memset(e, 0, sizeof *e);
}

void envelope_spool_name(char *buf, size_t size, unsigned count)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	char host[256] = "localhost";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	/* '/' and ':' are not allowed in a Maildir name; ',' starts our marks */
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':' || *p == ',')
			*p = '_';
	uint32_t r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) < 0)
		r = (uint32_t)tv.tv_usec;
	snprintf(buf, size, "%010lld.M%06ldP%dQ%uR%08" PRIx32 ".%s", (long long)tv.tv_sec,
	         (long)tv.tv_usec, (int)getpid(), count, r, host);
}
