/*
 * feat.c: feature lookup and featureset algebra over the generated
 * tables.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "feat.h"

/*
 * Linux /proc/cpuinfo spells some features differently from Xen.  Only the
 * differences are listed; the spelling is normalised first, so "sse4_2" and
 * "sse4.2" reach "sse4-2" without an entry here.
 */
static const struct {
	const char *alias;
	const char *name;
} aliases[] = {
	{ "pni", "sse3" },
	{ "pclmul", "pclmulqdq" },
	{ "aes", "aesni" },
	{ "dts", "ds" },
	{ "ht", "htt" },
	{ "tm", "tm1" },
	{ "ds-cpl", "dscpl" },
	{ "est", "eist" },
	{ "pdpe1gb", "page1gb" },
	{ "fxsr-opt", "ffxsr" },
	{ "bpext", "dbext" },
	{ "mwaitx", "monitorx" },
	{ "avx512ifma", "avx512-ifma" },
	{ "avx512vbmi", "avx512-vbmi" },
	{ "sha-ni", "sha" },
	{ "rdt-a", "pqe" },
	{ "cqm", "pqm" },
	{ "spec-ctrl", "ibrsb" },
	{ "intel-stibp", "stibp" },
	{ "flush-l1d", "l1d-flush" },
	{ "arch-capabilities", "arch-caps" },
	{ "tsc-deadline-timer", "tsc-deadline" },
	{ "nonstop-tsc", "itsc" },
};

/* Normalise SRC into DST (size N): lower case, '_' and '.' become '-'. */
static int normalise(char *dst, size_t n, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		if (i + 1 >= n)
			return -1;
		dst[i] = (c == '_' || c == '.') ? '-' : (char)tolower(c);
	}
	dst[i] = '\0';
	return 0;
}

static int lookup_exact(const char *name)
{
	int i;

	for (i = 0; i < HM_NR_FEATURES; i++)
		if (strcmp(hm_features[i].name, name) == 0)
			return i;
	return -1;
}

int feat_lookup(const char *name)
{
	char buf[64];
	size_t i;
	int f;

	if (normalise(buf, sizeof(buf), name) < 0)
		return -1;
	if ((f = lookup_exact(buf)) >= 0)
		return f;
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(aliases[i].alias, buf) == 0)
			return lookup_exact(aliases[i].name);
	return -1;
}

int feat_by_value(unsigned int value)
{
	int i;

	for (i = 0; i < HM_NR_FEATURES; i++)
		if (hm_features[i].value == value)
			return i;
	return -1;
}

const char *reg_name(enum hm_reg r)
{
	static const char *const names[] = { "eax", "ebx", "ecx", "edx" };

	return names[r & 3];
}

bool fs_has(const struct fset *s, int i)
{
	return (s->w[feat_word(i)] >> feat_bit(i)) & 1;
}

void fs_set(struct fset *s, int i)
{
	s->w[feat_word(i)] |= UINT32_C(1) << feat_bit(i);
}

void fs_clear(struct fset *s, int i)
{
	s->w[feat_word(i)] &= ~(UINT32_C(1) << feat_bit(i));
}

bool fs_empty(const struct fset *s)
{
	int w;

	for (w = 0; w < HM_NR_WORDS; w++)
		if (s->w[w] != 0)
			return false;
	return true;
}

bool fs_equal(const struct fset *a, const struct fset *b)
{
	return memcmp(a->w, b->w, sizeof(a->w)) == 0;
}

int fs_count(const struct fset *s)
{
	int i, n = 0;

	for (i = 0; i < HM_NR_FEATURES; i++)
		n += fs_has(s, i);
	return n;
}

void fs_known(struct fset *s)
{
	struct fset k = { { 0 } };
	int i;

	for (i = 0; i < HM_NR_FEATURES; i++)
		fs_set(&k, i);
	fs_and(s, s, &k);
}

void fs_and(struct fset *r, const struct fset *a, const struct fset *b)
{
	int w;

	for (w = 0; w < HM_NR_WORDS; w++)
		r->w[w] = a->w[w] & b->w[w];
}

void fs_or(struct fset *r, const struct fset *a, const struct fset *b)
{
	int w;

	for (w = 0; w < HM_NR_WORDS; w++)
		r->w[w] = a->w[w] | b->w[w];
}

void fs_andnot(struct fset *r, const struct fset *a, const struct fset *b)
{
	int w;

	for (w = 0; w < HM_NR_WORDS; w++)
		r->w[w] = a->w[w] & ~b->w[w];
}

bool fs_subset(const struct fset *a, const struct fset *b)
{
	int w;

	for (w = 0; w < HM_NR_WORDS; w++)
		if (a->w[w] & ~b->w[w])
			return false;
	return true;
}

/*
 * The dependency table is small (about a hundred edges), so a fixed point
 * over it is cheaper to read than a precomputed transitive table and fast
 * enough for every caller.
 */
void fs_close_hidden(struct fset *s)
{
	bool changed;
	int i;

	do {
		changed = false;
		for (i = 0; i < HM_NR_DEPS; i++)
			if (fs_has(s, hm_deps[i].parent) &&
			    !fs_has(s, hm_deps[i].child)) {
				fs_set(s, hm_deps[i].child);
				changed = true;
			}
	} while (changed);
}

void fs_close_needed(struct fset *s)
{
	bool changed;
	int i;

	do {
		changed = false;
		for (i = 0; i < HM_NR_DEPS; i++)
			if (fs_has(s, hm_deps[i].child) &&
			    !fs_has(s, hm_deps[i].parent)) {
				fs_set(s, hm_deps[i].parent);
				changed = true;
			}
	} while (changed);
}
