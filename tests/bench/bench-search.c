/*
 * bench-search: how many trials the search takes, on simulated workloads.
 *
 * usage: bench-search [-s SETS] [-S SEED] POLICY...
 *
 * For each POLICY (any format featdump reads), the candidates are what a
 * PVH/HVM guest of that CPU sees by default (features with Xen's 'A' or 'S'
 * attribute), less featmin's fixed baseline and unmaskable bits.  For each
 * k in 1 2 4 8 16, SETS random needed sets of k candidates are drawn; a
 * simulated trial passes iff it hides none of them (hiding a feature hides
 * its dependents).  The answer must be the needed set closed under
 * prerequisites.  The same runs are repeated with every 7th attempt
 * answering "could not tell" (125), retried by search_drive.
 *
 * One line per (policy, k) on stdout: the mean and max trials beside n+1
 * (one reboot per feature) and ceil(log2 C(n, k)); the target column is
 * log2 C(n, k) + k + 2, unrounded.  Then how many rows meet each target.
 * H is the exact entropy of the row's needed set (k <= 4): with it, a row
 * is called 5x-impossible only when no search could meet the 5x target,
 * and 5x-out-of-reach when none could that settles "nothing needed" in
 * as few trials as this one (five_x).
 * Each row also gives the mean with -f's knowledge (f:mean): the search
 * is told that hiding every candidate fails, the least featmin -f can be
 * told (a host B with none of them).  For each k = 1 row that misses 5x,
 * a last line gives the least mean any search could take there, in a model
 * without dependencies: with nothing known, if it spent no more trials
 * than this one on a workload that needs nothing; and with -f.  For each
 * row missed with nothing known, five_x's bound, which holds with
 * dependencies too: the share of the search's tree of trials the row
 * would need to meet 5x, beside the share such a search has left.
 * Exit 1 when an answer was wrong, 2 on a usage or input error; a missed
 * target is a figure to read, not a failure.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "search.h"
#include "util.h"

#define MAX_INPUT (64u << 20)

struct sim {
	struct fset needed;	/* the true needed set */
	int flaky;		/* answer 125 on every FLAKY-th attempt; 0: never */
	int calls;
};

static enum verdict sim_run(void *ctx, const struct fset *hide, int nr,
			    int *id_r)
{
	struct sim *sim = ctx;
	struct fset h = *hide, both;

	*id_r = nr;
	sim->calls++;
	if (sim->flaky && sim->calls % sim->flaky == 0)
		return V_UNKNOWN;
	fs_close_hidden(&h);
	fs_and(&both, &h, &sim->needed);
	return fs_empty(&both) ? V_PASS : V_FAIL;
}

/* xorshift64*: a fixed, portable stream, so every run draws the same sets. */
static unsigned long long rng_state;

static unsigned int rng(unsigned int n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned int)((rng_state * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

/* C(n, k), exact in a double for the sizes here. */
static double choose(int n, int k)
{
	double c = 1.0;
	int i;

	for (i = 1; i <= k; i++)
		c = c * (n - k + i) / i;
	return c;
}

/* A needed set as a bit mask over the row's candidates (n <= 128). */
struct key {
	uint64_t w[2];
};

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->w[0] != y->w[0])
		return x->w[0] < y->w[0] ? -1 : 1;
	if (x->w[1] != y->w[1])
		return x->w[1] < y->w[1] ? -1 : 1;
	return 0;
}

/*
 * The entropy, in bits, of the needed set a row draws: K distinct
 * candidates, uniformly, closed under prerequisites.  Two draws can close
 * to the same set (avx2 and avx, or avx2 and xsave), so it is at most
 * log2 C(n, k).  A search that tells these sets apart by pass/fail trials
 * takes on average at least this many trials, the unmasked one aside.
 * Exact, by enumerating every draw; -1 when K > 4 or N > 128.
 */
static double entropy(const int *cands, int n, int k)
{
	struct key up[128], *keys;
	size_t nr = 0, cap, i, run;
	int idx[4], j, f;
	double h = 0.0;

	if (k > 4 || n > 128)
		return -1.0;
	cap = (size_t)(choose(n, k) + 0.5);
	for (i = 0; i < (size_t)n; i++) {
		struct fset c = { { 0 } };

		fs_set(&c, cands[i]);
		fs_close_needed(&c);
		memset(&up[i], 0, sizeof(up[i]));
		for (f = 0; f < n; f++)
			if (fs_has(&c, cands[f]))
				up[i].w[f / 64] |= 1ULL << (f % 64);
	}
	keys = ealloc(cap * sizeof(*keys));
	for (j = 0; j < k; j++)
		idx[j] = j;
	for (;;) {
		struct key key = { { 0, 0 } };

		for (j = 0; j < k; j++) {
			key.w[0] |= up[idx[j]].w[0];
			key.w[1] |= up[idx[j]].w[1];
		}
		keys[nr++] = key;
		/* The next k-subset in lexicographic order. */
		for (j = k - 1; j >= 0 && idx[j] == n - k + j; j--)
			;
		if (j < 0)
			break;
		idx[j]++;
		for (j++; j < k; j++)
			idx[j] = idx[j - 1] + 1;
	}
	qsort(keys, nr, sizeof(*keys), key_cmp);
	for (i = 0; i < nr; i = run) {
		for (run = i + 1; run < nr && !key_cmp(&keys[i], &keys[run]);
		    run++)
			;
		h -= (double)(run - i) / (double)nr *
		    log2((double)(run - i) / (double)nr);
	}
	free(keys);
	return h;
}

/*
 * The least mean number of trials any search can take when exactly one
 * candidate is needed, in a model without dependencies, given that it
 * settles "nothing needed" in T trials after the unmasked one (as this
 * search does, in the number of trials it takes then).  Exact, by dynamic
 * programming over what a search can know, which only sizes describe:
 *
 *   s   candidates that may be the needed one,
 *   u   others not yet hidden in a passing trial (not yet cleared),
 *   fl  whether a trial has failed.
 *
 * A search is done when s = 1, u = 0 and a trial failed (the failing
 * trial hid the needed one among cleared features).  A trial hides a of
 * the s and, at no cost, all of the u: it fails with odds a/s, leaving
 * (a, u + s - a, fail) and passes otherwise, leaving (s - a, 0, fl).
 * On the trials that settle "nothing needed" every answer is a pass, and
 * a needed candidate hidden by the i-th of them first fails there.
 */
#define K1_MAX 128

static double k1_e[K1_MAX + 1][K1_MAX + 1][2];

static void k1_table(void)
{
	static bool done;
	int s, u, a, fl;

	if (done)
		return;
	done = true;
	for (s = 1; s <= K1_MAX; s++)
		for (fl = 1; fl >= 0; fl--)
			for (u = 0; u + s <= K1_MAX; u++) {
				double best, v;

				if (fl == 0 && u > 0)
					continue;	/* never reached */
				if (s == 1) {
					k1_e[s][u][fl] = fl == 0 ? 1.0 :
					    u > 0 ? 1.0 : 0.0;
					continue;
				}
				/* Hide all s: a fail, once. */
				best = fl == 0 ? 1.0 + k1_e[s][u][1] : 1e300;
				/* Hide only the u: a pass that clears them. */
				if (u > 0 && 1.0 + k1_e[s][0][fl] < best)
					best = 1.0 + k1_e[s][0][fl];
				for (a = 1; a < s; a++) {
					v = 1.0 + (a * k1_e[a][u + s - a][1] +
					    (s - a) * k1_e[s - a][0][fl]) / s;
					if (v < best)
						best = v;
				}
				k1_e[s][u][fl] = best;
			}
}

/* The same, for a search told that one candidate is needed (featmin -f). */
static double k1_least_known(int n)
{
	if (n > K1_MAX || n < 1)
		return -1.0;
	k1_table();
	return 1.0 + k1_e[n][0][1];
}

/* 1 + the least mean over the N candidates; -1 when N > 128. */
static double k1_least(int n, int t)
{
	static double g[K1_MAX + 1][K1_MAX + 1];
	int m, i, a;

	if (n > K1_MAX || n < 1 || t < 1)
		return -1.0;
	k1_table();
	if (t > n)
		t = n;
	/* g[m][i]: summed over the m not yet cleared, trials from here. */
	for (i = 1; i <= t; i++)
		for (m = 1; m <= n; m++) {
			double best = m * (1.0 + k1_e[m][0][1]), v;

			for (a = 1; i > 1 && a < m; a++) {
				v = a * (1.0 + k1_e[a][m - a][1]) + (m - a) +
				    g[m - a][i - 1];
				if (v < best)
					best = v;
			}
			g[m][i] = best;
		}
	return 1.0 + g[n][t] / n;
}

static void load(const char *path, struct fset *fs_r)
{
	struct policy p = POLICY_INIT;
	struct perr err;
	size_t len;
	char *buf;

	buf = read_all(path, MAX_INPUT, &len);
	if (buf == NULL)
		die("cannot open '%s': %s", path, strerror(errno));
	policy_init(&p);
	if (policy_parse(&p, buf, len, path, 0, NULL, &err) < 0)
		die("%s", err.msg);
	policy_featureset(&p, fs_r);
	policy_release(&p);
	free(buf);
}

/* The candidates a default PVH/HVM guest of HOST gives featmin. */
static void guest_candidates(const struct fset *host, struct fset *cand_r)
{
	struct fset guest = { { 0 } }, fixed, none = { { 0 } };
	int f;

	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(host, f) && strpbrk(hm_features[f].attrs, "AS"))
			fs_set(&guest, f);
	search_default_fixed(&fixed);
	search_candidates(&guest, &fixed, &none, cand_r);
}

/* A row that misses the 5x target, for the lines under the table. */
struct miss {
	const char *name;
	int n, k, none;
	const char *five;	/* its verdict with nothing known */
	double mean, fmean, h;
	double least, fleast;	/* k = 1 */
};

/*
 * One simulated search for SIM's needed set, whose answer must be WANT;
 * GIVEN: told, as featmin -f is, that hiding every candidate fails (the
 * least -f can say).  Returns the attempts, retries included, negated
 * when the answer is wrong; *ST gets the counts.
 */
static int one_search(const struct fset *cand, struct sim *sim, bool given,
		      const struct fset *want, struct drive_stats *st)
{
	struct search s;
	bool ok;

	sim->calls = 0;
	memset(st, 0, sizeof(*st));
	search_init(&s, cand);
	if (given)
		search_given_fail(&s, cand);
	ok = search_drive(&s, &(struct trial_ops){ sim_run, NULL, NULL }, sim,
	    3, st) == D_DONE && fs_equal(search_needed(&s), want);
	return ok ? st->attempts : -st->attempts;
}

/*
 * 5x fewer than n+1 is a target for k <= 4, and Kraft's inequality bounds
 * it: the needed sets are leaves of a search's tree of trials, and if
 * those of a row hold a share s of the sum of 2^-depth (at most 1), its
 * mean is at least 1 + H + log2(1/s), H the row's entropy.  Meeting
 * (n+1)/5 takes the share five_share gives.
 */
static double five_share(int n, double h)
{
	return exp2(-((n + 1) / 5.0 - 1.0 - h));
}

/*
 * The share every k but 0 can have, when "nothing needed" takes NONE
 * trials: its leaf, at depth NONE - 1, holds 2^-(NONE-1); 1 for a search
 * told that something is needed (-f).
 */
static double share_left(int none)
{
	return none > 0 ? 1.0 - exp2(-(none - 1)) : 1.0;
}

/*
 * The 5x verdict of a row with mean MEAN and entropy H (-1: unknown), for
 * a search that leaves the share LEFT to every k: "impossible" when no
 * search can meet it (a share over 1, that is H + 1 > (n+1)/5),
 * "out-of-reach" when none leaving only LEFT can.
 */
static const char *five_x(double mean, int n, double h, double left)
{
	if (mean * 5 <= n + 1)
		return "ok";
	if (h < 0)
		return "MISSED";
	return five_share(n, h) > 1.0 ? "impossible" :
	    five_share(n, h) > left ? "out-of-reach" : "MISSED";
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-search [-s sets] [-S seed] policy...\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	static const int ks[] = { 1, 2, 4, 8, 16 };
	struct fset host, cand;
	int c, i, a, sets = 100, bad = 0, cands[HM_NR_FEATURES];
	int rows = 0, met = 0, rows5 = 0, met5 = 0, imp5 = 0, nr_miss = 0;
	int out5 = 0;
	int fmet = 0, fmet5 = 0;
	struct miss miss[64];
	unsigned long long seed = 1;
	char *end;

	progname = "bench-search";
	while ((c = getopt(argc, argv, "s:S:")) != -1) {
		switch (c) {
		case 's':
			sets = (int)strtol(optarg, &end, 10);
			if (*end || sets < 1)
				die("bad number of sets '%s'", optarg);
			break;
		case 'S':
			seed = strtoull(optarg, &end, 10);
			if (*end)
				die("bad seed '%s'", optarg);
			break;
		default:
			usage();
		}
	}
	if (optind == argc)
		usage();
	/* Two answers worked by hand: the table must give them. */
	if (k1_least(2, 1) != 3.5 || k1_least(2, 2) != 3.0)
		die("k1_least: wrong on two candidates");
	/* (n+1)/5 = 12: H = 11 needs the whole tree, H = 10 half of it. */
	if (five_share(59, 11.0) != 1.0 || five_share(59, 10.0) != 0.5 ||
	    share_left(3) != 0.75 ||
	    strcmp(five_x(13, 59, 11.5, 0.75), "impossible") != 0 ||
	    strcmp(five_x(13, 59, 11.0, 0.75), "out-of-reach") != 0 ||
	    strcmp(five_x(13, 59, 10.0, 0.75), "MISSED") != 0 ||
	    strcmp(five_x(12, 59, 11.5, 0.75), "ok") != 0)
		die("five_x: wrong on the cases worked by hand");
	printf("%-32s %3s %3s %6s %4s %4s %6s %6s %6s %6s %6s %4s %5s %6s "
	    "%s\n", "policy", "n", "k", "mean", "max", "n+1", "ceilC",
	    "target", "x-fewer", "H", "125:mean", "max", "retry", "f:mean",
	    "verdict");
	for (a = optind; a < argc; a++) {
		const char *name = strrchr(argv[a], '/') ?
		    strrchr(argv[a], '/') + 1 : argv[a];
		struct sim nothing = { { { 0 } }, 0, 0 };
		struct fset empty = { { 0 } };
		struct drive_stats nst;
		int n = 0, none;

		load(argv[a], &host);
		guest_candidates(&host, &cand);
		for (i = 0; i < HM_NR_FEATURES; i++)
			if (fs_has(&cand, i))
				cands[n++] = i;
		/* What the search spends on a workload that needs nothing. */
		none = one_search(&cand, &nothing, false, &empty, &nst);
		for (i = 0; i < (int)(sizeof(ks) / sizeof(ks[0])); i++) {
			int k = ks[i], set, v, got, max[3] = { 0 };
			int retries = 0;
			long sum[3] = { 0 };
			double l2, mean[3], target, h;
			const char *five = "-", *ffive = "-";

			if (k > n)
				continue;
			rng_state = seed * 0x9E3779B97F4A7C15ULL + (unsigned)k +
			    (unsigned)a * 1000u;
			for (set = 0; set < sets; set++) {
				struct sim sim = { { { 0 } }, 0, 0 };
				struct drive_stats st;
				struct fset want;

				while (fs_count(&sim.needed) < k)
					fs_set(&sim.needed, cands[rng((unsigned)n)]);
				want = sim.needed;
				fs_close_needed(&want);
				fs_and(&want, &want, &cand);
				for (v = 0; v < 3; v++) {
					sim.flaky = v == 1 ? 7 : 0;
					got = one_search(&cand, &sim, v == 2,
					    &want, &st);
					if (got < 0) {
						fprintf(stderr, "%s k=%d set "
						    "%d: wrong answer\n", name,
						    k, set);
						bad = 1;
						got = -got;
					}
					sum[v] += got;
					max[v] = got > max[v] ? got : max[v];
					if (v == 1)
						retries += st.unknown;
				}
			}
			for (v = 0; v < 3; v++)
				mean[v] = (double)sum[v] / sets;
			l2 = log2(choose(n, k));
			target = l2 + k + 2;
			rows++;
			met += mean[0] <= target + 1e-9;
			fmet += mean[2] <= target + 1e-9;
			h = entropy(cands, n, k);
			if (k <= 4) {
				five = five_x(mean[0], n, h, share_left(none));
				ffive = five_x(mean[2], n, h, share_left(0));
				rows5++;
				met5 += strcmp(five, "ok") == 0;
				fmet5 += strcmp(ffive, "ok") == 0;
				imp5 += strcmp(five, "impossible") == 0;
				out5 += strcmp(five, "out-of-reach") == 0;
			}
			if (k <= 4 && nr_miss < 64 &&
			    (strcmp(five, "ok") != 0 || strcmp(ffive, "ok") != 0) &&
			    strcmp(five, "impossible") != 0) {
				struct miss *m = &miss[nr_miss++];

				m->name = name;
				m->n = n;
				m->k = k;
				m->five = five;
				m->none = none;
				m->mean = mean[0];
				m->fmean = mean[2];
				m->h = h;
				m->least = k == 1 ? k1_least(n, none - 1) : -1;
				m->fleast = k == 1 ? k1_least_known(n) : -1;
			}
			printf("%-32s %3d %3d %6.1f %4d %4d %6.0f %6.1f %6.1f ",
			    name, n, k, mean[0], max[0], n + 1,
			    fmax(0.0, ceil(l2 - 1e-9)), target,
			    (n + 1) / mean[0]);
			if (h >= 0)
				printf("%6.1f ", h);
			else
				printf("%6s ", "-");
			printf("%6.1f %4d %5.1f %6.1f %s", mean[1], max[1],
			    (double)retries / sets, mean[2],
			    mean[0] <= target + 1e-9 ? "ok" : "MISSED");
			if (k <= 4)
				printf(" 5x-%s f:5x-%s", five, ffive);
			printf("\n");
		}
	}
	printf("mean <= log2 C(n,k) + k + 2: %d of %d rows; with -f: %d\n",
	    met, rows, fmet);
	printf("5x fewer than n+1 for k <= 4: %d of %d rows; %d more cannot "
	    "be (H + 1 > (n+1)/5), and %d more cannot be for a search that "
	    "settles nothing needed as quickly (below); with -f: %d\n",
	    met5, rows5, imp5, out5, fmet5);
	/*
	 * Where k = 1 misses, how close any search could come: with nothing
	 * known, if it settles "nothing needed" in as few trials as this one;
	 * with -f, knowing that one is needed.
	 */
	for (i = 0, c = 0; i < nr_miss; i++) {
		if (miss[i].k != 1)
			continue;
		if (c++ == 0)
			printf("k = 1 rows missed, beside the least any search "
			    "could take (exact, without dependencies):\n");
		printf("  %s n=%d, (n+1)/5 = %.1f: mean %.2f, least %.2f with "
		    "nothing needed in %d trials; -f: mean %.2f, least %.2f\n",
		    miss[i].name, miss[i].n, (miss[i].n + 1) / 5.0,
		    miss[i].mean, miss[i].least, miss[i].none,
		    miss[i].fmean, miss[i].fleast);
	}
	/* Where a row misses with nothing known, five_x's bound. */
	for (i = 0, c = 0; i < nr_miss; i++) {
		const struct miss *m = &miss[i];

		if (m->h < 0 || strcmp(m->five, "ok") == 0)
			continue;
		if (c++ == 0)
			printf("rows missed: a search takes at least "
			    "1 + H + log2(1/s) trials, where s is the share "
			    "of its tree (Kraft) its leaves for the row's "
			    "needed sets hold:\n");
		printf("  %s n=%d k=%d, (n+1)/5 = %.1f: mean %.2f; needs "
		    "s >= %.2f, and nothing needed in %d trials leaves %.2f "
		    "for every k: %s\n", m->name, m->n, m->k, (m->n + 1) / 5.0,
		    m->mean, five_share(m->n, m->h), m->none,
		    share_left(m->none), strcmp(m->five, "out-of-reach") == 0 ?
		    "cannot be" : "not ruled out");
	}
	printf("answers: %s\n", bad ? "SOME WRONG" : "all exact, with and "
	    "without 125s, with and without -f");
	fshut(stdout, "<stdout>");
	return bad;
}
