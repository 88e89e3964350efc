/* diff: Myers line diff with bounded work, unified and HTML renderings.
 * See diff.h.
 *
 * Theory of operation
 *  1. Equal inputs end at one memcmp. Binary inputs (NUL, or more than a
 *     tenth of the bytes invalid UTF-8) end at the first differing byte.
 *  2. The common head and tail (whole lines) are set aside by a byte scan:
 *     a typical wrong answer differs in a few lines of a long output.
 *  3. The middle lines are hashed and interned, so a line comparison is an
 *     integer comparison. A line that occurs on one side only is a change
 *     whatever the alignment (it cannot be in a common subsequence), so it
 *     is set aside before the search, as GNU diff does: garbage against the
 *     expected output leaves nothing to search. Memory: about 40 bytes a
 *     middle line; past DIFF_MAX_LINES the middle is one replaced block.
 *  4. The search is Myers' O(ND) algorithm in linear space (the middle-snake
 *     bisection of GNU diffseq.h, rewritten here), with GNU diff's cost cap
 *     per bisection (past it the furthest-reaching diagonal is taken as the
 *     split) and a global work budget: a submission that prints the expected
 *     lines shuffled cannot make the runner search for minutes. Past the
 *     budget every remaining region is one replaced block.
 *  5. The result is a list of changes in absolute line numbers; renderers
 *     walk both buffers once, forward, and stop at the output cap. */
#include "diff.h"
#include "compare.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Bytes of one input diff_files() reads at most (the runner caps outputs far
 * below; this only protects against a broken configuration). */
#define DIFF_MAX_FILE ((size_t)256 << 20)
/* Units of search work (diagonal steps plus snake steps) for one diff:
 * about 0.15 s on this 2-core VM when idle. A 10 MB output with 15% of its
 * lines moved, duplicated or dropped needs well under it. */
#define DIFF_WORK_BUDGET ((uint64_t)50 * 1000 * 1000)

struct change {
	size_t a0, an;   /* deleted lines of a: [a0, a0+an), 0-based */
	size_t b0, bn;   /* inserted lines of b */
};

struct diff {
	const char *a, *b;
	size_t alen, blen;
	char *own_a, *own_b;
	bool equal, binary, coarse;
	size_t first_byte;    /* binary: 1-based */
	size_t a_lines, b_lines;
	GArray *changes;      /* struct change, in order */
};

/* --- classification ------------------------------------------------------ */

static size_t first_difference(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen, i = 0;
	while (i < n) {
		size_t k = n - i < 4096 ? n - i : 4096;
		if (memcmp(a + i, b + i, k)) {
			while (a[i] == b[i])
				i++;
			return i;
		}
		i += k;
	}
	return n;
}

bool diff_looks_binary(const char *p, size_t n)
{
	if (memchr(p, 0, n))
		return true;
	size_t invalid = 0, limit = n / 10 > 8 ? n / 10 : 8;
	const char *end = p + n;
	while (p < end) {
		const gchar *stop;
		if (g_utf8_validate_len(p, (gsize)(end - p), &stop))
			break;
		if (++invalid > limit)
			return true;
		p = stop + 1;
	}
	return false;
}

static size_t count_lines(const char *p, size_t n)
{
	/* a plain loop the compiler vectorizes: memchr per line costs a call
	 * per line, and hostile output can be millions of empty lines */
	size_t lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	if (n && p[n - 1] != '\n')
		lines++;
	return lines;
}

/* --- hashing and interning ---------------------------------------------- */

static uint64_t hash_line(const char *p, size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = (uint64_t)n * k;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = ((h << 5) | (h >> 59)) ^ w;
		h *= k;
	}
	uint64_t w = 0;
	memcpy(&w, p + i, n - i);
	h = (((h << 5) | (h >> 59)) ^ w) * k;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 29;
	return h;
}

/* The lines of one side's middle region. */
struct seq {
	const char *base;
	uint32_t *off, *len, *id;
	size_t n;
};

static void seq_split(struct seq *s, const char *base, size_t n, size_t lines)
{
	s->base = base;
	s->n = lines;
	s->off = compare_alloc_large(sizeof(uint32_t) * (lines + 1));
	s->len = compare_alloc_large(sizeof(uint32_t) * (lines + 1));
	s->id = compare_alloc_large(sizeof(uint32_t) * (lines + 1));
	size_t pos = 0;
	for (size_t i = 0; i < lines; i++) {
		const char *nl = memchr(base + pos, '\n', n - pos);
		size_t e = nl ? (size_t)(nl - base) + 1 : n;
		s->off[i] = (uint32_t)pos;
		s->len[i] = (uint32_t)(e - pos);
		pos = e;
	}
}

static void seq_free(struct seq *s)
{
	g_free(s->off);
	g_free(s->len);
	g_free(s->id);
}

/* Gives equal lines of a and b equal ids; returns the number of ids. */
static size_t intern(struct seq *a, struct seq *b)
{
	size_t total = a->n + b->n, cap = 16;
	while (cap < total * 2)
		cap <<= 1;
	size_t mask = cap - 1;
	/* one 8-byte slot: high half the hash's high bits, low half id + 1
	 * (0 = empty), so a probe costs one cache miss */
	uint64_t *slot = compare_alloc_large(sizeof(uint64_t) * cap);
	memset(slot, 0, sizeof(uint64_t) * cap);
	/* the representative line of each id */
	const char **rep = compare_alloc_large(sizeof(const char *) * (total + 1));
	uint32_t *rep_len = compare_alloc_large(sizeof(uint32_t) * (total + 1));
	size_t ids = 0;
	struct seq *sides[2] = { a, b };
	/* the table is larger than the caches: hash PF lines ahead and
	 * prefetch their slots, so the probes do not wait on memory one by one */
	enum { PF = 16 };
	uint64_t ahead[PF];
	for (int s = 0; s < 2; s++) {
		struct seq *q = sides[s];
		for (size_t i = 0; i < q->n && i < PF; i++) {
			ahead[i] = hash_line(q->base + q->off[i], q->len[i]);
			__builtin_prefetch(&slot[(size_t)ahead[i] & mask]);
		}
		for (size_t i = 0; i < q->n; i++) {
			const char *p = q->base + q->off[i];
			uint32_t n = q->len[i];
			uint64_t h = ahead[i % PF], tag = h & 0xffffffff00000000ull;
			if (i + PF < q->n) {
				uint64_t h2 = hash_line(q->base + q->off[i + PF], q->len[i + PF]);
				ahead[i % PF] = h2;
				__builtin_prefetch(&slot[(size_t)h2 & mask]);
			}
			size_t k = (size_t)h & mask;
			for (;;) {
				uint64_t v = slot[k];
				if (!v) {
					rep[ids] = p;
					rep_len[ids] = n;
					slot[k] = tag | (uint64_t)++ids;
					q->id[i] = (uint32_t)(ids - 1);
					break;
				}
				uint32_t id = (uint32_t)v - 1;
				if ((v & 0xffffffff00000000ull) == tag && rep_len[id] == n &&
				    !memcmp(rep[id], p, n)) {
					q->id[i] = id;
					break;
				}
				k = (k + 1) & mask;
			}
		}
	}
	g_free(slot);
	g_free(rep);
	g_free(rep_len);
	return ids;
}

/* --- Myers, linear space, with a cost cap ------------------------------- */

struct ctx {
	const uint32_t *x, *y;
	uint8_t *xchg, *ychg;
	int32_t *fd, *bd;        /* indexed by diagonal + offset */
	int32_t too_expensive;
	uint64_t work, budget;
	bool gave_up;
};

struct partition {
	int32_t xmid, ymid;
	bool lo_minimal, hi_minimal;
};

/* Finds the midpoint of the shortest edit script of x[xoff,xlim) and
 * y[yoff,ylim), or past the cost cap a good split that is not minimal. */
static void diag(int32_t xoff, int32_t xlim, int32_t yoff, int32_t ylim, bool minimal,
                 struct partition *part, struct ctx *c)
{
	int32_t *const fd = c->fd, *const bd = c->bd;
	const uint32_t *const x = c->x, *const y = c->y;
	const int32_t dmin = xoff - ylim, dmax = xlim - yoff;
	const int32_t fmid = xoff - yoff, bmid = xlim - ylim;
	int32_t fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
	const bool odd = (fmid - bmid) & 1;

	fd[fmid] = xoff;
	bd[bmid] = xlim;
	for (int32_t cost = 1;; cost++) {
		int32_t d;
		if (fmin > dmin)
			fd[--fmin - 1] = -1;
		else
			++fmin;
		if (fmax < dmax)
			fd[++fmax + 1] = -1;
		else
			--fmax;
		for (d = fmax; d >= fmin; d -= 2) {
			int32_t tlo = fd[d - 1], thi = fd[d + 1];
			int32_t x0 = tlo < thi ? thi : tlo + 1, xx = x0, yy = x0 - d;
			while (xx < xlim && yy < ylim && x[xx] == y[yy])
				xx++, yy++;
			c->work += (uint64_t)(xx - x0) + 1;
			fd[d] = xx;
			if (odd && bmin <= d && d <= bmax && bd[d] <= xx) {
				part->xmid = xx;
				part->ymid = yy;
				part->lo_minimal = part->hi_minimal = true;
				return;
			}
		}
		if (bmin > dmin)
			bd[--bmin - 1] = INT32_MAX;
		else
			++bmin;
		if (bmax < dmax)
			bd[++bmax + 1] = INT32_MAX;
		else
			--bmax;
		for (d = bmax; d >= bmin; d -= 2) {
			int32_t tlo = bd[d - 1], thi = bd[d + 1];
			int32_t x0 = tlo < thi ? tlo : thi - 1, xx = x0, yy = x0 - d;
			while (xoff < xx && yoff < yy && x[xx - 1] == y[yy - 1])
				xx--, yy--;
			c->work += (uint64_t)(x0 - xx) + 1;
			bd[d] = xx;
			if (!odd && fmin <= d && d <= fmax && xx <= fd[d]) {
				part->xmid = xx;
				part->ymid = yy;
				part->lo_minimal = part->hi_minimal = true;
				return;
			}
		}
		if (c->work > c->budget)
			c->gave_up = true;
		if (minimal && !c->gave_up)
			continue;
		if (cost < c->too_expensive && !c->gave_up)
			continue;

		/* Past the cap: split at whichever of the forward and backward
		 * frontiers got furthest. */
		int32_t fxybest = -1, fxbest = xoff, bxybest = INT32_MAX, bxbest = xlim;
		for (d = fmax; d >= fmin; d -= 2) {
			int32_t xx = fd[d] < xlim ? fd[d] : xlim, yy = xx - d;
			if (ylim < yy) {
				xx = ylim + d;
				yy = ylim;
			}
			if (fxybest < xx + yy) {
				fxybest = xx + yy;
				fxbest = xx;
			}
		}
		for (d = bmax; d >= bmin; d -= 2) {
			int32_t xx = bd[d] > xoff ? bd[d] : xoff, yy = xx - d;
			if (yy < yoff) {
				xx = yoff + d;
				yy = yoff;
			}
			if (xx + yy < bxybest) {
				bxybest = xx + yy;
				bxbest = xx;
			}
		}
		if ((xlim + ylim) - bxybest < fxybest - (xoff + yoff)) {
			part->xmid = fxbest;
			part->ymid = fxybest - fxbest;
			part->lo_minimal = true;
			part->hi_minimal = false;
		} else {
			part->xmid = bxbest;
			part->ymid = bxybest - bxbest;
			part->lo_minimal = false;
			part->hi_minimal = true;
		}
		return;
	}
}

static void mark_all(struct ctx *c, int32_t xoff, int32_t xlim, int32_t yoff, int32_t ylim)
{
	if (xlim > xoff)
		memset(c->xchg + xoff, 1, (size_t)(xlim - xoff));
	if (ylim > yoff)
		memset(c->ychg + yoff, 1, (size_t)(ylim - yoff));
}

static void compareseq(int32_t xoff, int32_t xlim, int32_t yoff, int32_t ylim, bool minimal,
                       struct ctx *c, int depth)
{
	/* the upper half is a loop, the lower half recurses: the depth stays
	 * logarithmic in the usual case and is capped in the worst */
	for (;;) {
		const uint32_t *x = c->x, *y = c->y;
		while (xoff < xlim && yoff < ylim && x[xoff] == y[yoff])
			xoff++, yoff++;
		while (xoff < xlim && yoff < ylim && x[xlim - 1] == y[ylim - 1])
			xlim--, ylim--;
		if (xoff == xlim || yoff == ylim || c->gave_up || depth > 2000) {
			if (xoff != xlim && yoff != ylim)
				c->gave_up = true;
			mark_all(c, xoff, xlim, yoff, ylim);
			return;
		}
		struct partition part;
		diag(xoff, xlim, yoff, ylim, minimal, &part, c);
		compareseq(xoff, part.xmid, yoff, part.ymid, part.lo_minimal, c, depth + 1);
		xoff = part.xmid;
		yoff = part.ymid;
		minimal = part.hi_minimal;
		depth++;
	}
}

/* Diffs the middle regions; appends changes with line numbers offset by
 * `first` (the lines of the common head). */
static void diff_middle(struct diff *d, const char *ma, size_t malen, const char *mb, size_t mblen,
                        size_t first)
{
	size_t na = count_lines(ma, malen), nb = count_lines(mb, mblen);
	/* line offsets are 32-bit: a middle past 4 GiB is not searched either */
	if (na == 0 || nb == 0 || na > DIFF_MAX_LINES || nb > DIFF_MAX_LINES ||
	    malen > UINT32_MAX || mblen > UINT32_MAX) {
		if (na && nb)
			d->coarse = true;
		struct change ch = { first, na, first, nb };
		g_array_append_val(d->changes, ch);
		return;
	}
	struct seq sa, sb;
	seq_split(&sa, ma, malen, na);
	seq_split(&sb, mb, mblen, nb);
	size_t ids = intern(&sa, &sb);

	uint8_t *in_a = g_new0(uint8_t, ids), *in_b = g_new0(uint8_t, ids);
	for (size_t i = 0; i < na; i++)
		in_a[sa.id[i]] = 1;
	for (size_t i = 0; i < nb; i++)
		in_b[sb.id[i]] = 1;
	/* lines present on one side only are changes: keep the rest */
	uint32_t *x = compare_alloc_large(sizeof(uint32_t) * na);
	uint32_t *xi = compare_alloc_large(sizeof(uint32_t) * na);
	uint32_t *y = compare_alloc_large(sizeof(uint32_t) * nb);
	uint32_t *yi = compare_alloc_large(sizeof(uint32_t) * nb);
	size_t nx = 0, ny = 0;
	for (size_t i = 0; i < na; i++)
		if (in_b[sa.id[i]]) {
			x[nx] = sa.id[i];
			xi[nx++] = (uint32_t)i;
		}
	for (size_t i = 0; i < nb; i++)
		if (in_a[sb.id[i]]) {
			y[ny] = sb.id[i];
			yi[ny++] = (uint32_t)i;
		}
	g_free(in_a);
	g_free(in_b);

	struct ctx c = { .x = x, .y = y, .budget = DIFF_WORK_BUDGET };
	c.xchg = g_new0(uint8_t, nx + 1);
	c.ychg = g_new0(uint8_t, ny + 1);
	size_t diags = nx + ny + 3;
	c.fd = compare_alloc_large(sizeof(int32_t) * diags);
	c.bd = compare_alloc_large(sizeof(int32_t) * diags);
	c.fd += ny + 1;
	c.bd += ny + 1;
	/* GNU diff caps the cost of one bisection at max(4096, ~sqrt(N)); on
	 * large inputs a cap of 256 gives diffs within a fraction of a percent
	 * of minimal (measured on 10 MB outputs with 15% of lines moved,
	 * duplicated or dropped) at a tenth of the time */
	c.too_expensive = diags <= 20000 ? 4096 : 256;
	compareseq(0, (int32_t)nx, 0, (int32_t)ny, false, &c, 0);
	if (c.gave_up)
		d->coarse = true;

	/* back to the original lines: set-aside lines are changed */
	uint8_t *achg = g_malloc(na), *bchg = g_malloc(nb);
	memset(achg, 1, na);
	memset(bchg, 1, nb);
	for (size_t k = 0; k < nx; k++)
		achg[xi[k]] = c.xchg[k];
	for (size_t k = 0; k < ny; k++)
		bchg[yi[k]] = c.ychg[k];
	size_t i = 0, j = 0;
	while (i < na || j < nb) {
		if (i < na && j < nb && !achg[i] && !bchg[j]) {
			i++, j++;
			continue;
		}
		size_t i0 = i, j0 = j;
		while (i < na && achg[i])
			i++;
		while (j < nb && bchg[j])
			j++;
		struct change ch = { first + i0, i - i0, first + j0, j - j0 };
		g_array_append_val(d->changes, ch);
	}

	g_free(achg);
	g_free(bchg);
	g_free(c.fd - (ny + 1));
	g_free(c.bd - (ny + 1));
	g_free(c.xchg);
	g_free(c.ychg);
	g_free(x);
	g_free(xi);
	g_free(y);
	g_free(yi);
	seq_free(&sa);
	seq_free(&sb);
}

static void diff_compute(struct diff *d)
{
	const char *a = d->a, *b = d->b;
	size_t alen = d->alen, blen = d->blen;
	d->changes = g_array_new(FALSE, FALSE, sizeof(struct change));
	size_t p = first_difference(a, alen, b, blen);
	if (p == alen && alen == blen) {
		d->equal = true;
		return;
	}
	if (diff_looks_binary(a, alen) || diff_looks_binary(b, blen)) {
		d->binary = true;
		d->first_byte = p + 1;
		return;
	}
	d->a_lines = count_lines(a, alen);
	d->b_lines = count_lines(b, blen);

	/* the common head, in whole lines */
	while (p > 0 && a[p - 1] != '\n')
		p--;
	size_t head_lines = count_lines(a, p);
	/* the common tail, in whole lines, not overlapping the head */
	size_t s = 0, maxs = (alen < blen ? alen : blen) - p;
	while (s < maxs && a[alen - 1 - s] == b[blen - 1 - s])
		s++;
	size_t sa = alen - s, sb = blen - s;
	while (s > 0) {
		bool la = sa == p || a[sa - 1] == '\n', lb = sb == p || b[sb - 1] == '\n';
		if (la && lb)
			break;
		const char *q = memchr(a + sa, '\n', s);
		if (!q) {
			s = 0;
			break;
		}
		size_t k = (size_t)(q + 1 - (a + sa));
		sa += k;
		sb += k;
		s -= k;
	}
	if (s == 0) {
		sa = alen;
		sb = blen;
	}
	diff_middle(d, a + p, sa - p, b + p, sb - p, head_lines);
}

struct diff *diff_buffers(const char *expected, size_t expected_len, const char *actual, size_t actual_len)
{
	struct diff *d = g_new0(struct diff, 1);
	d->a = expected ? expected : "";
	d->b = actual ? actual : "";
	d->alen = expected ? expected_len : 0;
	d->blen = actual ? actual_len : 0;
	diff_compute(d);
	return d;
}

struct diff *diff_files(const char *expected_path, const char *actual_path, GError **err)
{
	char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	int r;
	if (expected_path && (r = compare_read_file(expected_path, DIFF_MAX_FILE, &a, &al)) < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: %s", expected_path, g_strerror(-r));
		return NULL;
	}
	if (actual_path && (r = compare_read_file(actual_path, DIFF_MAX_FILE, &b, &bl)) < 0) {
		g_set_error(err, SERCOM_ERROR, -r, "%s: %s", actual_path, g_strerror(-r));
		g_free(a);
		return NULL;
	}
	struct diff *d = diff_buffers(a, al, b, bl);
	d->own_a = a;
	d->own_b = b;
	return d;
}

void diff_free(struct diff *d)
{
	if (!d)
		return;
	if (d->changes)
		g_array_free(d->changes, TRUE);
	g_free(d->own_a);
	g_free(d->own_b);
	g_free(d);
}

bool diff_equal(const struct diff *d)
{
	return d->equal;
}

bool diff_binary(const struct diff *d, size_t *first_byte)
{
	if (first_byte)
		*first_byte = d->binary ? d->first_byte : 0;
	return d->binary;
}

bool diff_coarse(const struct diff *d)
{
	return d->coarse;
}

void diff_stats(const struct diff *d, size_t *deleted, size_t *inserted)
{
	size_t del = 0, ins = 0;
	for (guint i = 0; i < d->changes->len; i++) {
		const struct change *c = &g_array_index(d->changes, struct change, i);
		del += c->an;
		ins += c->bn;
	}
	if (deleted)
		*deleted = del;
	if (inserted)
		*inserted = ins;
}

/* --- rendering ----------------------------------------------------------- */

/* A forward-only reader of the lines of one input. */
struct lcur {
	const char *buf;
	size_t len, pos;
	size_t line;        /* 0-based number of the line at pos */
};

static void lcur_seek(struct lcur *c, size_t line)
{
	while (c->line < line && c->pos < c->len) {
		const char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
		c->pos = nl ? (size_t)(nl - c->buf) + 1 : c->len;
		c->line++;
	}
}

/* The current line without its newline; advances. */
static void lcur_take(struct lcur *c, const char **p, size_t *n, bool *has_nl)
{
	const char *s = c->buf + c->pos;
	const char *nl = memchr(s, '\n', c->len - c->pos);
	*p = s;
	*n = nl ? (size_t)(nl - s) : c->len - c->pos;
	*has_nl = nl != NULL;
	c->pos += *n + (nl ? 1 : 0);
	c->line++;
}

struct hunk {
	guint first, last;   /* changes [first, last] */
	size_t a0, a1, b0, b1;
};

static int context_of(const struct diff_options *o)
{
	int ctx = o && o->context >= 0 ? o->context : 3;
	return ctx > 1000000 ? 1000000 : ctx;
}

static size_t max_of(const struct diff_options *o)
{
	return o && o->max_output ? o->max_output : DIFF_DEFAULT_MAX_OUTPUT;
}

/* Groups changes closer than 2*ctx lines into hunks with their context. */
static GArray *make_hunks(const struct diff *d, size_t ctx)
{
	GArray *h = g_array_new(FALSE, FALSE, sizeof(struct hunk));
	guint n = d->changes->len;
	for (guint i = 0; i < n;) {
		const struct change *c0 = &g_array_index(d->changes, struct change, i);
		guint j = i;
		while (j + 1 < n) {
			const struct change *cj = &g_array_index(d->changes, struct change, j);
			const struct change *cn = &g_array_index(d->changes, struct change, j + 1);
			if (cn->a0 - (cj->a0 + cj->an) > 2 * ctx)
				break;
			j++;
		}
		const struct change *cl = &g_array_index(d->changes, struct change, j);
		struct hunk k = { i, j, 0, 0, 0, 0 };
		size_t before = c0->a0 < ctx ? c0->a0 : ctx;
		if (c0->b0 < before)
			before = c0->b0;
		k.a0 = c0->a0 - before;
		k.b0 = c0->b0 - before;
		size_t after = d->a_lines - (cl->a0 + cl->an);
		if (after > ctx)
			after = ctx;
		k.a1 = cl->a0 + cl->an + after;
		k.b1 = cl->b0 + cl->bn + after;
		g_array_append_val(h, k);
		i = j + 1;
	}
	return h;
}

static void range(GString *s, size_t start, size_t count)
{
	if (count == 0)
		g_string_append_printf(s, "%zu,0", start);
	else if (count == 1)
		g_string_append_printf(s, "%zu", start + 1);
	else
		g_string_append_printf(s, "%zu,%zu", start + 1, count);
}

static char *truncated_note(size_t max)
{
	return g_strdup_printf("[diff truncated at %zu bytes]", max);
}

/* fmt with each {name} replaced by n; every byte of fmt is escaped (the
 * words come from a course's template). */
static void html_words(GString *s, const char *fmt, const char *name, size_t n)
{
	g_autofree char *key = g_strdup_printf("{%s}", name);
	g_autofree char *num = g_strdup_printf("%zu", n);
	g_auto(GStrv) parts = g_strsplit(fmt, key, -1);
	for (char **p = parts; *p; p++) {
		if (p != parts)
			g_string_append(s, num);
		diff_html_escape(s, *p, strlen(*p));
	}
}

/* Appends one line of a unified diff; false when the cap is reached (the
 * line is cut and the note appended). */
static bool uni_line(GString *s, size_t max, char tag, const char *p, size_t n, bool has_nl)
{
	if (s->len + n + 2 > max) {
		size_t room = max > s->len + 2 ? max - s->len - 2 : 0;
		if (room) {
			g_string_append_c(s, tag);
			g_string_append_len(s, p, (gssize)(n < room ? n : room));
			g_string_append_c(s, '\n');
		}
		g_autofree char *note = truncated_note(max);
		g_string_append_printf(s, "%s\n", note);
		return false;
	}
	g_string_append_c(s, tag);
	g_string_append_len(s, p, (gssize)n);
	g_string_append(s, has_nl ? "\n" : "\n\\ No newline at end of file\n");
	return true;
}

GString *diff_unified(const struct diff *d, const struct diff_options *o)
{
	GString *s = g_string_new(NULL);
	if (d->equal)
		return s;
	if (d->binary) {
		g_string_append_printf(s, "binary files differ (first difference at byte %zu)\n", d->first_byte);
		return s;
	}
	size_t max = max_of(o), ctx = (size_t)context_of(o);
	g_string_append_printf(s, "--- %s\n+++ %s\n", o && o->old_label ? o->old_label : "expected",
	                       o && o->new_label ? o->new_label : "actual");
	GArray *hunks = make_hunks(d, ctx);
	struct lcur ca = { d->a, d->alen, 0, 0 }, cb = { d->b, d->blen, 0, 0 };
	const char *p;
	size_t n;
	bool nl, go = true;
	for (guint h = 0; go && h < hunks->len; h++) {
		const struct hunk *k = &g_array_index(hunks, struct hunk, h);
		if (s->len + 64 > max) {
			g_autofree char *note = truncated_note(max);
			g_string_append_printf(s, "%s\n", note);
			break;
		}
		g_string_append(s, "@@ -");
		range(s, k->a0, k->a1 - k->a0);
		g_string_append(s, " +");
		range(s, k->b0, k->b1 - k->b0);
		g_string_append(s, " @@\n");
		lcur_seek(&ca, k->a0);
		lcur_seek(&cb, k->b0);
		for (guint i = k->first; go && i <= k->last; i++) {
			const struct change *c = &g_array_index(d->changes, struct change, i);
			while (go && ca.line < c->a0) {
				lcur_take(&ca, &p, &n, &nl);
				lcur_seek(&cb, cb.line + 1);
				go = uni_line(s, max, ' ', p, n, nl);
			}
			for (size_t t = 0; go && t < c->an; t++) {
				lcur_take(&ca, &p, &n, &nl);
				go = uni_line(s, max, '-', p, n, nl);
			}
			for (size_t t = 0; go && t < c->bn; t++) {
				lcur_take(&cb, &p, &n, &nl);
				go = uni_line(s, max, '+', p, n, nl);
			}
		}
		while (go && ca.line < k->a1) {
			lcur_take(&ca, &p, &n, &nl);
			lcur_seek(&cb, cb.line + 1);
			go = uni_line(s, max, ' ', p, n, nl);
		}
	}
	g_array_free(hunks, TRUE);
	return s;
}

void diff_html_escape(GString *out, const char *s, size_t n)
{
	const char *end = s + n;
	while (s < end) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x80) {
			switch (c) {
			case '&': g_string_append(out, "&amp;"); break;
			case '<': g_string_append(out, "&lt;"); break;
			case '>': g_string_append(out, "&gt;"); break;
			case '"': g_string_append(out, "&quot;"); break;
			case '\'': g_string_append(out, "&#39;"); break;
			case '\t': g_string_append_c(out, '\t'); break;
			default:
				if (c < 0x20 || c == 0x7f) {
					/* control characters as their visible symbols
					 * (U+2400..U+2421): a student sees the \r or the
					 * NUL that breaks the comparison */
					gunichar u = c == 0x7f ? 0x2421 : 0x2400 + c;
					g_string_append_unichar(out, u);
				} else {
					g_string_append_c(out, (char)c);
				}
			}
			s++;
			continue;
		}
		gunichar u = g_utf8_get_char_validated(s, end - s);
		if (u == (gunichar)-1 || u == (gunichar)-2) {
			g_string_append(out, "\xef\xbf\xbd");   /* U+FFFD */
			s++;
			continue;
		}
		int l = g_unichar_to_utf8(u, NULL);
		g_string_append_len(out, s, l);
		s += l;
	}
}

/* Byte length of the common prefix and suffix of two lines, kept on UTF-8
 * character boundaries, for the intra-line highlight. */
static void common_ends(const char *x, size_t xn, const char *y, size_t yn, size_t *pre, size_t *suf)
{
	size_t m = xn < yn ? xn : yn, i = 0;
	while (i < m && x[i] == y[i])
		i++;
	while (i > 0 && ((unsigned char)x[i] & 0xc0) == 0x80)
		i--;
	size_t j = 0;
	while (j < m - i && x[xn - 1 - j] == y[yn - 1 - j])
		j++;
	while (j > 0 && ((unsigned char)x[xn - j] & 0xc0) == 0x80)
		j--;
	*pre = i;
	*suf = j;
}

struct html {
	GString *s;
	size_t max;
	bool full;
	const char *nonl;   /* diff_options.no_newline */
};

static void cell_text(GString *s, const char *p, size_t n, size_t pre, size_t suf, bool mark, bool has_nl,
                      const char *nonl)
{
	if (mark && pre + suf < n) {
		diff_html_escape(s, p, pre);
		g_string_append(s, "<span class=\"x\">");
		diff_html_escape(s, p + pre, n - pre - suf);
		g_string_append(s, "</span>");
		diff_html_escape(s, p + n - suf, suf);
	} else {
		diff_html_escape(s, p, n);
	}
	if (!has_nl) {
		g_string_append(s, "<span class=\"nonl\" title=\"");
		const char *w = nonl ? nonl : "no newline at end of file";
		diff_html_escape(s, w, strlen(w));
		g_string_append(s, "\">\xe2\x90\x83</span>");
	}
}

/* One row; l or r may be absent (NULL p). Returns false at the cap. */
static bool html_row(struct html *h, const char *cls, size_t ln_l, const char *lp, size_t ln, bool lnl,
                     size_t ln_r, const char *rp, size_t rn, bool rnl)
{
	/* escaping can grow a byte to six ("&quot;"): reserve the worst case */
	size_t need = 200 + 6 * ((lp ? ln : 0) + (rp ? rn : 0));
	bool cut = false;
	if (h->s->len + need > h->max) {
		/* a huge line still shows its beginning, cut to the room left */
		size_t room = h->max > h->s->len + 400 ? h->max - h->s->len - 400 : 0;
		if (room < 12) {
			h->full = true;
			return false;
		}
		size_t allow = room / 12;
		if (ln > allow)
			ln = allow;
		if (rn > allow)
			rn = allow;
		lnl = rnl = true;
		cut = true;
	}
	size_t pre = 0, suf = 0;
	bool mark = lp && rp && !strcmp(cls, "chg");
	if (mark)
		common_ends(lp, ln, rp, rn, &pre, &suf);
	g_string_append_printf(h->s, "<tr class=\"%s\">", cls);
	if (lp) {
		g_string_append_printf(h->s, "<td class=\"ln\">%zu</td><td class=\"t%s\">", ln_l,
		                       !strcmp(cls, "ctx") ? "" : " del");
		cell_text(h->s, lp, ln, pre, suf, mark, lnl, h->nonl);
		g_string_append(h->s, "</td>");
	} else {
		g_string_append(h->s, "<td class=\"ln\"></td><td class=\"t none\"></td>");
	}
	if (rp) {
		g_string_append_printf(h->s, "<td class=\"ln\">%zu</td><td class=\"t%s\">", ln_r,
		                       !strcmp(cls, "ctx") ? "" : " add");
		cell_text(h->s, rp, rn, pre, suf, mark, rnl, h->nonl);
		g_string_append(h->s, "</td>");
	} else {
		g_string_append(h->s, "<td class=\"ln\"></td><td class=\"t none\"></td>");
	}
	g_string_append(h->s, "</tr>\n");
	if (cut)
		h->full = true;
	return !cut;
}

GString *diff_html(const struct diff *d, const struct diff_options *o)
{
	GString *s = g_string_new(NULL);
	if (d->equal)
		return s;
	if (d->binary) {
		g_string_append(s, "<p class=\"diff-binary\">");
		html_words(s, o && o->binary_note ? o->binary_note
		                                  : "binary files differ (first difference at byte {byte})",
		           "byte", d->first_byte);
		g_string_append(s, "</p>\n");
		return s;
	}
	size_t max = max_of(o), ctx = (size_t)context_of(o);
	struct html h = { s, max, false, o ? o->no_newline : NULL };
	/* the columns' widths: a fixed layout takes them from the first row,
	 * whose headers span two columns each */
	g_string_append(s, "<table class=\"diff\">\n<colgroup><col class=\"ln\"><col><col class=\"ln\"><col></colgroup>\n"
	                   "<thead><tr><th colspan=\"2\">");
	diff_html_escape(s, o && o->old_label ? o->old_label : "expected",
	                 strlen(o && o->old_label ? o->old_label : "expected"));
	g_string_append(s, "</th><th colspan=\"2\">");
	diff_html_escape(s, o && o->new_label ? o->new_label : "actual",
	                 strlen(o && o->new_label ? o->new_label : "actual"));
	g_string_append(s, "</th></tr></thead>\n<tbody>\n");

	GArray *hunks = make_hunks(d, ctx);
	struct lcur ca = { d->a, d->alen, 0, 0 }, cb = { d->b, d->blen, 0, 0 };
	const char *lp, *rp;
	size_t ln, rn;
	bool lnl, rnl, go = true;
	for (guint hi = 0; go && hi < hunks->len; hi++) {
		const struct hunk *k = &g_array_index(hunks, struct hunk, hi);
		if (s->len + 200 > max) {
			h.full = true;
			break;
		}
		g_string_append(s, "<tr class=\"hunk\"><td colspan=\"4\">@@ -");
		range(s, k->a0, k->a1 - k->a0);
		g_string_append(s, " +");
		range(s, k->b0, k->b1 - k->b0);
		g_string_append(s, " @@</td></tr>\n");
		lcur_seek(&ca, k->a0);
		lcur_seek(&cb, k->b0);
		for (guint i = k->first; go && i <= k->last + 1; i++) {
			/* context up to the next change, or to the hunk's end */
			size_t until = i <= k->last ? g_array_index(d->changes, struct change, i).a0 : k->a1;
			while (go && ca.line < until) {
				size_t la = ca.line + 1, lb = cb.line + 1;
				lcur_take(&ca, &lp, &ln, &lnl);
				lcur_take(&cb, &rp, &rn, &rnl);
				go = html_row(&h, "ctx", la, lp, ln, lnl, lb, rp, rn, rnl);
			}
			if (i > k->last)
				break;
			const struct change *c = &g_array_index(d->changes, struct change, i);
			size_t rows = c->an > c->bn ? c->an : c->bn;
			for (size_t t = 0; go && t < rows; t++) {
				bool hl = t < c->an, hr = t < c->bn;
				size_t la = ca.line + 1, lb = cb.line + 1;
				lp = rp = NULL;
				ln = rn = 0;
				lnl = rnl = true;
				if (hl)
					lcur_take(&ca, &lp, &ln, &lnl);
				if (hr)
					lcur_take(&cb, &rp, &rn, &rnl);
				go = html_row(&h, hl && hr ? "chg" : hl ? "del" : "add", la, lp, ln, lnl, lb, rp, rn, rnl);
			}
		}
	}
	g_array_free(hunks, TRUE);
	if (h.full) {
		g_string_append(s, "<tr class=\"trunc\"><td colspan=\"4\">");
		html_words(s, o && o->truncated_note ? o->truncated_note : "[diff truncated at {bytes} bytes]",
		           "bytes", max);
		g_string_append(s, "</td></tr>\n");
	}
	g_string_append(s, "</tbody>\n</table>\n");
	return s;
}

const char *diff_html_css(void)
{
	return "table.diff{border-collapse:collapse;font-family:monospace;font-size:13px;width:100%;table-layout:fixed}\n"
	       "table.diff th{background:#eee;text-align:left;padding:2px 6px}\n"
	       "table.diff td{vertical-align:top;padding:0 6px;white-space:pre-wrap;word-break:break-all;tab-size:8}\n"
	       "table.diff col.ln{width:3.5em}\n"
	       "table.diff td.ln{text-align:right;color:#888;background:#f7f7f7;user-select:none}\n"
	       "table.diff tr.hunk td{background:#eef3ff;color:#556}\n"
	       "table.diff td.del{background:#ffecec}\n"
	       "table.diff td.add{background:#eaffea}\n"
	       "table.diff td.none{background:#f4f4f4}\n"
	       "table.diff td.del span.x{background:#f8b4b4}\n"
	       "table.diff td.add span.x{background:#a6f3a6}\n"
	       "table.diff span.nonl{color:#c00}\n"
	       "table.diff tr.trunc td{background:#fff6d6;font-style:italic}\n"
	       "p.diff-binary{font-family:monospace}\n";
}

GString *diff_html_page(const char *title, const struct diff_section *sections, size_t n)
{
	GString *s = g_string_new("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
	const char *t = title ? title : "";
	diff_html_escape(s, t, strlen(t));
	g_string_append(s, "</title>\n<style>\nbody{font-family:sans-serif;margin:1em}\nh2{font-size:1.1em;margin-top:1.5em}\n");
	g_string_append(s, diff_html_css());
	g_string_append(s, "</style>\n</head>\n<body>\n<h1>");
	diff_html_escape(s, t, strlen(t));
	g_string_append(s, "</h1>\n");
	for (size_t i = 0; i < n; i++) {
		g_string_append(s, "<section>\n<h2>");
		const char *c = sections[i].caption ? sections[i].caption : "";
		diff_html_escape(s, c, strlen(c));
		g_string_append(s, "</h2>\n");
		if (sections[i].html)
			g_string_append(s, sections[i].html);
		g_string_append(s, "</section>\n");
	}
	g_string_append(s, "</body>\n</html>\n");
	return s;
}
