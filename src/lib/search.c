/* search.c: see search.h. */
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "search.h"
#include "util.h"

/*
 * Each question asks where the first needed feature among the unknown
 * candidates lies (positions 0 .. m-1 of the order), or whether there is
 * none: hiding a prefix of length p passes iff it lies at p or beyond.
 * Which p to ask is read off an optimal alphabetic tree over those m + 1
 * outcomes (search_split), weighted by how likely each is.  The weights
 * come from a prior on how many candidates a workload needs, k, updated by
 * what the run has seen: with f pinned among n candidates and m unknown,
 * j more are needed with odds prior(f + j) C(m, j) / C(n, f + j), and then
 * the first of them lies at i with odds C(m-1-i, j-1) / C(m, j).
 * The prior: odds (k+1)^-3 for k >= 1 (one needed feature is likelier
 * than two, two than three, and 16 is rare), and NOTHING_PRIOR for k = 0,
 * which makes "nothing needed" about a fifth: a run that finds nothing
 * beyond the baseline takes 3 trials.  Tuned on simulated predicates
 * (tests/bench) over the fixture policies, n from 12 to 85, k from 1 to 16.
 * Once a feature is pinned and the pinned / settled rate says that most of
 * the rest is needed, candidates are tried one at a time: a wrong guess
 * costs one trial, while a workload that needs nearly everything (which
 * the prior calls rare) is spared a bisection per feature.
 */
#define NOTHING_PRIOR 0.05

/*
 * A small log2 helper, so that the library needs no libm: the values are
 * trial estimates, where whole numbers are what counts.
 */
static int ceil_log2(double x)
{
	int a = 0;
	double p = 1.0;

	while (a < 1023 && p < x) {
		p *= 2.0;
		a++;
	}
	return a;
}

static void fs_one(struct fset *r, int f)
{
	memset(r, 0, sizeof(*r));
	fs_set(r, f);
}

/* Visit F's dependents among CAND first, then F: a post-order. */
static void post_order(struct search *s, int f, struct fset *seen)
{
	struct fset below;
	int g;

	fs_set(seen, f);
	fs_one(&below, f);
	fs_close_hidden(&below);
	fs_and(&below, &below, &s->cand);
	for (g = 0; g < HM_NR_FEATURES; g++)
		if (g != f && fs_has(&below, g) && !fs_has(seen, g))
			post_order(s, g, seen);
	s->order[s->nr_unknown++] = f;
}

void search_init(struct search *s, const struct fset *cand)
{
	struct fset seen = { { 0 } };
	int f;

	memset(s, 0, sizeof(*s));
	s->cand = *cand;
	fs_known(&s->cand);
	for (f = 0; f < HM_NR_FEATURES; f++) {
		s->ev[f].fail = s->ev[f].pass = s->ev[f].via = -1;
		if (fs_has(&s->cand, f) && !fs_has(&seen, f))
			post_order(s, f, &seen);
	}
	s->nr_cand = s->nr_unknown;
	s->state = S_BASELINE;
	s->last_pass = -1;
	s->hi_trial = -1;
}

int search_given_fail(struct search *s, const struct fset *hide)
{
	struct fset g = *hide;
	int rest[HM_NR_FEATURES], i, j = 0, r = 0;

	fs_close_hidden(&g);
	fs_and(&g, &g, &s->cand);
	/*
	 * The features of G first, each part in the order it had: a prefix
	 * stays closed under dependents, as G is.
	 */
	for (i = 0; i < s->nr_unknown; i++) {
		if (fs_has(&g, s->order[i]))
			s->order[j++] = s->order[i];
		else
			rest[r++] = s->order[i];
	}
	memcpy(s->order + j, rest, (size_t)r * sizeof(rest[0]));
	s->given = j;
	return j;
}

static double prior(int k)
{
	double c = k + 1.0;

	return k == 0 ? NOTHING_PRIOR : 1.0 / (c * c * c);
}

/*
 * The odds that j = 0 .. m of the m unknown candidates are needed, into
 * PJ[j] (normalised); returns their mean.  C(m, j) / C(n, f + j) is
 * carried from one j to the next, from 1 at j = 0 (a common factor).
 */
static double needed_odds(const struct search *s, double *pj)
{
	int m = s->nr_unknown, n = s->nr_cand, f = s->found, j;
	double l = 1.0, tot = 0.0, mean = 0.0;

	for (j = 0; j <= m; j++) {
		pj[j] = prior(f + j) * l;
		tot += pj[j];
		if (j < m)
			l *= (double)(m - j) / (j + 1) *
			    (double)(f + j + 1) / (n - f - j);
	}
	for (j = 0; j <= m; j++) {
		pj[j] /= tot;
		mean += j * pj[j];
	}
	return mean;
}

/*
 * The odds that the first needed unknown candidate lies at 0 .. LIM-1
 * into W, then (when NONE) that there is none, at W[LIM]; returns how many
 * weights that is.  For j needed, the first lies at i with odds
 * C(m-1-i, j-1) / C(m, j): j / m at i = 0, times (m-i-j) / (m-1-i) from
 * one i to the next.
 */
static int first_odds(const struct search *s, int lim, bool none, double *w)
{
	double pj[HM_NR_FEATURES + 1], g;
	int m = s->nr_unknown, i, j;

	needed_odds(s, pj);
	for (i = 0; i < lim; i++)
		w[i] = 0.0;
	for (j = 1; j <= m; j++) {
		g = (double)j / m;
		for (i = 0; i < lim && g > 0.0; i++) {
			w[i] += pj[j] * g;
			if (i + 1 < m)
				g *= (double)(m - i - j) / (m - 1 - i);
		}
	}
	if (none)
		w[lim] = pj[0];
	return lim + none;
}

/*
 * Knuth's dynamic programming, O(K^2): the best split of [a, b] lies
 * between those of [a, b-1] and [a+1, b].
 */
int search_split(const double *w, int k)
{
	double *cost = ealloc(sizeof(*cost) * (size_t)k * (size_t)k);
	double *sum = ealloc(sizeof(*sum) * (size_t)(k + 1));
	int *root = ealloc(sizeof(*root) * (size_t)k * (size_t)k);
	int a, b, len, t, p;

	sum[0] = 0.0;
	for (a = 0; a < k; a++) {
		sum[a + 1] = sum[a] + w[a];
		cost[a * k + a] = 0.0;
		root[a * k + a] = a;
	}
	for (len = 2; len <= k; len++)
		for (a = 0; a + len <= k; a++) {
			double best = -1.0;
			int lo, hi;

			b = a + len - 1;
			lo = len == 2 ? b : root[a * k + b - 1];
			hi = len == 2 ? b : root[(a + 1) * k + b];
			if (lo < a + 1)
				lo = a + 1;
			for (t = lo, p = lo; t <= hi; t++) {
				double v = cost[a * k + t - 1] +
				    cost[t * k + b];

				if (best < 0.0 || v < best) {
					best = v;
					p = t;
				}
			}
			cost[a * k + b] = best + sum[b + 1] - sum[a];
			root[a * k + b] = p;
		}
	p = root[k - 1];
	free(cost);
	free(sum);
	free(root);
	return p;
}

static void failing_prefix(struct search *s);

/*
 * The next question when no failure is pending: a prefix (the group) that
 * splits "where is the first needed candidate, if any" best.  A given
 * failure (nothing found yet) is such a failure: the bisection starts
 * there, with no trial.
 */
static void next_group(struct search *s)
{
	double w[HM_NR_FEATURES + 1];
	int m = s->nr_unknown;

	if (m == 0) {
		s->state = S_DONE;
		return;
	}
	if (s->given > 0) {
		s->hi_trial = -1;
		s->hi = s->given;
		s->given = 0;	/* taken: the bisection holds it now */
		failing_prefix(s);
		return;
	}
	s->state = S_GROUP;
	if (s->found >= 1 && m <= 2.0 * s->found * m / s->resolved - 2)
		s->group = 1;
	else
		s->group = search_split(w, first_odds(s, m, true, w));
}

/* Remove the first N unknown candidates: none of them is needed. */
static void clear_prefix(struct search *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		fs_set(&s->cleared, s->order[i]);
	memmove(s->order, s->order + n,
	    (size_t)(s->nr_unknown - n) * sizeof(s->order[0]));
	s->nr_unknown -= n;
	s->resolved += n;
}

/* The first unknown candidate is needed, and so are its prerequisites. */
static void pin_first(struct search *s)
{
	struct fset up;
	int f = s->order[0], i, j;

	s->ev[f].fail = s->hi_trial;
	s->ev[f].pass = s->last_pass;
	fs_one(&up, f);
	fs_close_needed(&up);
	fs_and(&up, &up, &s->cand);
	for (i = j = 0; i < s->nr_unknown; i++) {
		int g = s->order[i];

		if (!fs_has(&up, g)) {
			s->order[j++] = g;
			continue;
		}
		fs_set(&s->needed, g);
		if (g != f) {
			s->ev[g].via = f;
			s->ev[g].fail = s->hi_trial;
		}
	}
	s->nr_unknown = j;
	s->found++;
	s->resolved++;
}

static void prefix_mask(const struct search *s, int n, struct fset *hide_r)
{
	int i;

	*hide_r = s->cleared;
	for (i = 0; i < n; i++)
		fs_set(hide_r, s->order[i]);
	/* A no-op when the order is right; it keeps the contract if not. */
	fs_close_hidden(hide_r);
	fs_and(hide_r, hide_r, &s->cand);
}

/*
 * Prefix(0) passes (it is what is cleared) and prefix(hi) fails: pin the
 * first candidate when hi is 1, else ask the root of the best tree over
 * where in the prefix the first needed candidate lies (search_split).
 */
static void failing_prefix(struct search *s)
{
	double w[HM_NR_FEATURES + 1];

	if (s->hi == 1) {
		pin_first(s);
		next_group(s);
		return;
	}
	s->state = S_BISECT;
	s->probe = search_split(w, first_odds(s, s->hi, false, w));
}

int search_next(struct search *s, struct fset *hide_r)
{
	switch (s->state) {
	case S_BASELINE:
		memset(hide_r, 0, sizeof(*hide_r));
		return 1;
	case S_GROUP:
		prefix_mask(s, s->group, hide_r);
		return 1;
	case S_BISECT:
		prefix_mask(s, s->probe, hide_r);
		return 1;
	case S_DONE:
	case S_UNMASKED_FAILS:
		break;
	}
	return 0;
}

void search_answer(struct search *s, bool pass, int id)
{
	s->trials++;
	if (pass)
		s->last_pass = id;
	switch (s->state) {
	case S_BASELINE:
		if (!pass) {
			s->state = S_UNMASKED_FAILS;
			return;
		}
		next_group(s);
		return;
	case S_GROUP:
		if (pass) {
			clear_prefix(s, s->group);
			next_group(s);
			return;
		}
		s->hi_trial = id;
		s->hi = s->group;
		break;
	case S_BISECT:
		if (pass) {
			/* Settle what passed now; the bisection keeps its place. */
			clear_prefix(s, s->probe);
			s->hi -= s->probe;
		} else {
			s->hi_trial = id;
			s->hi = s->probe;
		}
		break;
	case S_DONE:
	case S_UNMASKED_FAILS:
		return;
	}
	failing_prefix(s);
}

bool search_failed_unmasked(const struct search *s)
{
	return s->state == S_UNMASKED_FAILS;
}

int search_unknown(const struct search *s)
{
	return s->nr_unknown;
}

const struct fset *search_needed(const struct search *s)
{
	return &s->needed;
}

void search_final_mask(const struct search *s, struct fset *hide_r)
{
	fs_andnot(hide_r, &s->cand, &s->needed);
}

/* ceil(log2 C(n, k)): C(n, k) stays well inside a double for n < 1000. */
static int log2_choose(int n, int k)
{
	double c = 1.0;
	int i;

	if (k <= 0 || k >= n)
		return 0;
	for (i = 1; i <= k; i++)
		c = c * (n - k + i) / i;
	return ceil_log2(c);
}

int search_estimate(const struct search *s)
{
	double e, pj[HM_NR_FEATURES + 1];
	int d, t = 0, m = s->nr_unknown;

	switch (s->state) {
	case S_DONE:
	case S_UNMASKED_FAILS:
		return 0;
	case S_BASELINE:
		t = 1;
		break;
	case S_BISECT:
		t = ceil_log2(s->hi);
		break;
	case S_GROUP:
		break;
	}
	if (s->state == S_BASELINE)
		e = 1.0;
	else
		e = needed_odds(s, pj);
	d = (int)e + (e > (int)e);
	if (d < 1 && m > 0)
		d = 1;
	if (d > m)
		d = m;
	return t + log2_choose(m, d) + d + (m > 0);
}

void search_default_fixed(struct fset *r)
{
	static const char *const names[] = {
		"fpu", "cmov", "cx8", "fxsr", "mmx", "sse", "sse2", "syscall",
		"pae", "pse", "msr", "pge", "lm", "tsc", "apic",
	};
	size_t i;
	int f;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((f = feat_lookup(names[i])) >= 0)
			fs_set(r, f);
	fs_close_needed(r);
}

void search_unmaskable(struct fset *r)
{
	int f;

	cmp_not_compared(r);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (strpbrk(hm_features[f].attrs, "AaSsHh") == NULL)
			fs_set(r, f);
}

void search_candidates(const struct fset *policy, const struct fset *fixed,
		       const struct fset *hidden, struct fset *cand_r)
{
	struct fset no, keep = *fixed, gone = *hidden;

	search_unmaskable(&no);
	fs_close_needed(&keep);
	fs_close_hidden(&gone);
	fs_andnot(cand_r, policy, &no);
	fs_andnot(cand_r, cand_r, &keep);
	fs_andnot(cand_r, cand_r, &gone);
	fs_known(cand_r);
}

enum verdict search_trial(const struct trial_ops *ops, void *ctx,
			  const struct search *s, const struct fset *hide,
			  int retries, struct drive_stats *st, int *id_r)
{
	enum verdict v;
	int tries = 0;

	for (;;) {
		int nr = ++st->attempts;

		*id_r = -1;
		v = ops->run(ctx, hide, nr, id_r);
		if (v != V_PASS && v != V_FAIL)
			v = V_UNKNOWN;
		if (v != V_UNKNOWN)
			return v;
		st->unknown++;
		if (ops->progress)
			ops->progress(ctx, s, nr, v);
		if (++tries > retries)
			return V_UNKNOWN;
	}
}

enum drive_result search_drive(struct search *s, const struct trial_ops *ops,
			       void *ctx, int retries, struct drive_stats *st)
{
	struct fset hide;
	enum verdict v;
	bool pass;
	int id;

	while (search_next(s, &hide)) {
		bool baseline = s->state == S_BASELINE;
		int i;

		if (ops->known && ops->known(ctx, &hide, &pass, &id) &&
		    (pass || !baseline)) {
			st->cached++;
			search_answer(s, pass, id);
			continue;
		}
		v = search_trial(ops, ctx, s, &hide, retries, st, &id);
		if (v == V_UNKNOWN)
			return D_GAVE_UP;
		/*
		 * A failing baseline ends the search, so it is asked again,
		 * RETRIES times at most, and one pass answers it: with nothing
		 * hidden, a failure that comes and goes is the rig's (a guest
		 * that crashed), not a missing feature.
		 */
		for (i = 0; baseline && v == V_FAIL && i < retries; i++) {
			if (ops->progress)
				ops->progress(ctx, s, st->attempts, v);
			st->confirmed++;
			v = search_trial(ops, ctx, s, &hide, retries, st, &id);
			if (v == V_UNKNOWN)
				return D_GAVE_UP;
		}
		search_answer(s, v == V_PASS, id);
		if (ops->progress)
			ops->progress(ctx, s, st->attempts, v);
	}
	return search_failed_unmasked(s) ? D_UNMASKED_FAILS : D_DONE;
}
