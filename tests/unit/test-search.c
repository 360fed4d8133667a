/*
 * test-search: featmin's search on simulated workloads: exact answers,
 * trial counts within the target, dependency closure, evidence, retries
 * of "could not tell", replay from known answers, and the journal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "journal.h"
#include "search.h"
#include "util.h"

/* What a PVH guest of the lab's host A sees (tests/fixtures/raw/qemu-lab-a). */
static const char *const lab_a[] = {
	"fpu", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep",
	"mtrr", "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr",
	"sse", "sse2", "sse3", "pclmulqdq", "ssse3", "fma", "cx16", "sse4-1",
	"sse4-2", "movbe", "popcnt", "aesni", "xsave", "osxsave", "avx", "f16c",
	"rdrand", "hypervisor", "syscall", "nx", "mmxext", "page1gb", "rdtscp",
	"lm", "lahf-lm", "svm", "cr8-legacy", "abm", "sse4a", "xsaveopt",
	"xgetbv1", "fsgsbase", "bmi1", "avx2", "smep", "bmi2", "adx", "smap",
	"clflushopt",
};

/* An old guest: a Core 2's (tests/fixtures/raw/libvirt-core2-e6850). */
static const char *const core2[] = {
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic",
	"sep", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx",
	"fxsr", "sse", "sse2", "ss", "sse3", "ssse3", "cx16", "syscall", "nx",
	"lm", "lahf-lm",
};

/* A larger guest: lab A plus AVX-512 and friends. */
static const char *const big_extra[] = {
	"avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl",
	"avx512-vbmi", "avx512-vbmi2", "avx512-vnni", "avx512-bitalg",
	"avx512-vpopcntdq", "vaes", "vpclmulqdq", "gfni", "sha", "erms", "fsrm",
	"clwb", "xsavec", "rdseed", "invpcid", "umip", "movdiri",
};

struct sim {
	struct fset needed;
	int calls;
	int flaky;		/* every FLAKY-th call answers 125; 0: never */
	bool always_unknown;
	int fail_first;		/* the first FAIL_FIRST calls fail */
	bool random;		/* answers at random: a non-monotone workload */
	bool closed;		/* every mask asked was closed under dependents */
	const struct fset *cand;
};

static struct fset names(const char *const *list, size_t n)
{
	struct fset fs = { { 0 } };
	size_t i;
	int f;

	for (i = 0; i < n; i++) {
		f = feat_lookup(list[i]);
		check(f >= 0, "unknown feature '%s' in the test", list[i]);
		if (f >= 0)
			fs_set(&fs, f);
	}
	return fs;
}

static struct fset split(const char *s)
{
	struct fset fs = { { 0 } };
	char *copy = estrdup(s), *tok, *save = NULL;
	int f;

	for (tok = strtok_r(copy, " ", &save); tok;
	    tok = strtok_r(NULL, " ", &save)) {
		f = feat_lookup(tok);
		check(f >= 0, "unknown feature '%s' in the test", tok);
		if (f >= 0)
			fs_set(&fs, f);
	}
	free(copy);
	return fs;
}

static enum verdict sim_run(void *ctx, const struct fset *hide, int nr,
			    int *id_r)
{
	struct sim *sim = ctx;
	struct fset h = *hide, both;

	*id_r = nr;
	sim->calls++;
	fs_close_hidden(&h);
	fs_and(&h, &h, sim->cand);
	if (!fs_equal(&h, hide))
		sim->closed = false;
	if (sim->always_unknown)
		return V_UNKNOWN;
	if (sim->calls <= sim->fail_first)
		return V_FAIL;
	if (sim->flaky && sim->calls % sim->flaky == 0)
		return V_UNKNOWN;
	if (sim->random)
		return rand() % 2 ? V_PASS : V_FAIL;
	fs_and(&both, &h, &sim->needed);
	return fs_empty(&both) ? V_PASS : V_FAIL;
}

static const struct trial_ops sim_ops = { sim_run, NULL, NULL };

static void guest_cand(const struct fset *policy, struct fset *cand_r)
{
	struct fset fixed, none = { { 0 } };

	search_default_fixed(&fixed);
	search_candidates(policy, &fixed, &none, cand_r);
}

/* Run one simulated search; returns the attempts it took. */
static int simulate(const struct fset *cand, const struct fset *needed,
		    struct search *s, struct sim *sim_r)
{
	struct drive_stats st = { 0 };
	enum drive_result r;

	memset(sim_r, 0, sizeof(*sim_r));
	sim_r->needed = *needed;
	sim_r->cand = cand;
	sim_r->closed = true;
	search_init(s, cand);
	r = search_drive(s, &sim_ops, sim_r, 3, &st);
	check(r == D_DONE, "drive ended with %d", (int)r);
	check(sim_r->closed, "a mask was not closed under dependents");
	return st.attempts;
}

static void expect(const struct fset *cand, const struct fset *got,
		   const char *want, const char *what)
{
	struct fset w = split(want);

	fs_and(&w, &w, cand);
	if (!fs_equal(got, &w)) {
		fprintf(stderr, "  got: ");
		fset_write_names(got, stderr);
	}
	check(fs_equal(got, &w), "%s: wrong needed set, want {%s}", what,
	    want);
}

/* Table: needed features -> the answer the search must give. */
static void test_table(void)
{
	static const struct {
		const char *needed, *answer;
		int max_trials;
	} cases[] = {
		{ "", "", 3 },
		{ "avx2", "avx2 avx xsave", 9 },
		{ "popcnt", "popcnt", 9 },
		{ "sse4-2", "sse4-2 sse4-1 ssse3 sse3", 9 },
		{ "avx2 popcnt", "avx2 avx xsave popcnt", 15 },
		{ "fma bmi2 movbe", "fma avx xsave bmi2 movbe", 21 },
		{ "xgetbv1", "xgetbv1 xsave", 9 },
		{ "de", "de", 9 },
		{ "clflushopt", "clflushopt", 9 },
	};
	struct fset policy = names(lab_a, sizeof(lab_a) / sizeof(lab_a[0]));
	struct fset cand, need;
	struct search s;
	struct sim sim;
	size_t i;
	int n;

	guest_cand(&policy, &cand);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		need = split(cases[i].needed);
		n = simulate(&cand, &need, &s, &sim);
		expect(&cand, search_needed(&s), cases[i].answer,
		    cases[i].needed);
		check(n <= cases[i].max_trials, "{%s}: %d trials, want <= %d",
		    cases[i].needed, n, cases[i].max_trials);
	}
}

static void test_evidence(void)
{
	struct fset policy = names(lab_a, sizeof(lab_a) / sizeof(lab_a[0]));
	struct fset cand, need = split("avx2");
	struct search s;
	struct sim sim;
	int avx2 = feat_lookup("avx2"), avx = feat_lookup("avx");

	guest_cand(&policy, &cand);
	simulate(&cand, &need, &s, &sim);
	check(s.ev[avx2].fail > 0 && s.ev[avx2].pass > 0 &&
	    s.ev[avx2].via < 0, "avx2: evidence %d/%d/%d", s.ev[avx2].fail,
	    s.ev[avx2].pass, s.ev[avx2].via);
	check(s.ev[avx].via == avx2, "avx is needed via avx2");
	check(s.ev[avx2].pass != s.ev[avx2].fail,
	    "one trial cannot both pass and fail");
}

/* The candidate set: fixed closed upwards, hidden closed downwards. */
static void test_candidates(void)
{
	struct fset policy = names(lab_a, sizeof(lab_a) / sizeof(lab_a[0]));
	struct fset fixed = split("avx2"), hidden = split("rdtscp xsave");
	struct fset cand;

	search_candidates(&policy, &fixed, &hidden, &cand);
	check(fs_has(&cand, feat_lookup("popcnt")), "popcnt is a candidate");
	check(!fs_has(&cand, feat_lookup("avx2")), "fixed avx2 is kept");
	/* avx2 fixed needs avx and xsave; xsave hidden hides them: the
	   fixed side wins nothing here, both just leave the candidates. */
	check(!fs_has(&cand, feat_lookup("avx")), "avx is not a candidate");
	check(!fs_has(&cand, feat_lookup("rdtscp")), "hidden rdtscp");
	check(!fs_has(&cand, feat_lookup("xsaveopt")),
	    "xsaveopt goes with hidden xsave");
	check(!fs_has(&cand, feat_lookup("hypervisor")), "hypervisor bit");
	check(!fs_has(&cand, feat_lookup("osxsave")), "osxsave is the OS's");
	search_default_fixed(&fixed);
	check(fs_has(&fixed, feat_lookup("sse2")) &&
	    fs_has(&fixed, feat_lookup("lm")) &&
	    fs_has(&fixed, feat_lookup("fxsr")), "the baseline");
	check(!fs_has(&fixed, feat_lookup("sse3")), "sse3 is no baseline");
}

/* ceil(log2 C(n, k)) + 1 without libm. */
static double log2c(int n, int k)
{
	double c = 1, l = 0;
	int i;

	for (i = 1; i <= k; i++)
		c = c * (n - k + i) / i;
	while (c > 1) {
		c /= 2;
		l++;
	}
	return l;
}

/*
 * A random needed set of K of the N candidates CANDS into *NEED, and the
 * answer the search must give for it (closed under prerequisites, within
 * CAND) into *WANT.
 */
static void draw(const int *cands, int n, int k, const struct fset *cand,
		 struct fset *need, struct fset *want)
{
	memset(need, 0, sizeof(*need));
	while (fs_count(need) < k)
		fs_set(need, cands[rand() % n]);
	*want = *need;
	fs_close_needed(want);
	fs_and(want, want, cand);
}

/* Random needed sets: exact answers, and the mean within the target. */
static void test_random(const char *name, const struct fset *policy)
{
	static const int ks[] = { 1, 2, 4, 8 };
	struct fset cand, need, want;
	struct search s;
	struct sim sim;
	int cands[HM_NR_FEATURES], n = 0, f, i, set, wrong;
	long sum;

	guest_cand(policy, &cand);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(&cand, f))
			cands[n++] = f;
	srand(7);
	for (i = 0; i < (int)(sizeof(ks) / sizeof(ks[0])); i++) {
		double target = log2c(n, ks[i]) + ks[i] + 2;

		sum = 0;
		wrong = 0;
		for (set = 0; set < 200; set++) {
			draw(cands, n, ks[i], &cand, &need, &want);
			sum += simulate(&cand, &need, &s, &sim);
			wrong += !fs_equal(search_needed(&s), &want);
		}
		check(wrong == 0, "%s k=%d: %d wrong answers", name, ks[i],
		    wrong);
		/* The ceiling of log2 gives the slack for 200 samples. */
		check(sum / 200.0 <= target, "%s k=%d: mean %.1f trials > %.1f",
		    name, ks[i], sum / 200.0, target);
		check(ks[i] > 1 || sum / 200.0 * 4 < n + 1,
		    "%s k=1: mean %.1f, not 4x fewer than %d", name,
		    sum / 200.0, n + 1);
	}
}

/*
 * A workload that needs every candidate, which the search's prior calls
 * rare: it still takes no more than log2 C(n, n) + n + 2 trials, the
 * target, as once pinned features outnumber cleared ones it tries one
 * candidate at a time.
 */
static void test_all_needed(const char *name, const struct fset *policy)
{
	struct fset cand;
	struct search s;
	struct sim sim;
	int n, t;

	guest_cand(policy, &cand);
	n = fs_count(&cand);
	t = simulate(&cand, &cand, &s, &sim);
	check(fs_equal(search_needed(&s), &cand), "%s: everything needed: "
	    "wrong answer", name);
	check(t <= n + 2, "%s: everything needed: %d trials, want <= %d",
	    name, t, n + 2);
}

/* The least expected cost of a tree over W[a..b], the slow way. */
static double tree_cost(const double *w, int a, int b, double *memo, int k)
{
	double best = -1.0, sum = 0.0, v;
	int t;

	if (a == b)
		return 0.0;
	if (memo[a * k + b] >= 0.0)
		return memo[a * k + b];
	for (t = a; t <= b; t++)
		sum += w[t];
	for (t = a + 1; t <= b; t++) {
		v = tree_cost(w, a, t - 1, memo, k) +
		    tree_cost(w, t, b, memo, k);
		if (best < 0.0 || v < best)
			best = v;
	}
	return memo[a * k + b] = best + sum;
}

/* The cost of the tree that asking search_split again at each node gives. */
static double split_cost(const double *w, int a, int b)
{
	double sum = 0.0;
	int p, t;

	if (a == b)
		return 0.0;
	p = a + search_split(w + a, b - a + 1);
	if (p <= a || p > b)
		return 1e300;	/* out of range: worse than any tree */
	for (t = a; t <= b; t++)
		sum += w[t];
	return sum + split_cost(w, a, p - 1) + split_cost(w, p, b);
}

/*
 * search_split: two trees worked by hand, then random weights against an
 * exhaustive search over every tree (O(K^3)), for K up to 40.
 */
static void test_split(void)
{
	static const double w1[] = { 0.5, 0.25, 0.25 }, w2[] = { 1, 1, 2 };
	double w[40], memo[40 * 40], opt, got;
	int it, k, i, worse = 0;

	check(search_split(w1, 3) == 1, "{.5 .25 .25}: ask the first alone");
	check(search_split(w2, 3) == 2, "{1 1 2}: ask the last alone");
	srand(11);
	for (it = 0; it < 200; it++) {
		k = 2 + rand() % 39;
		for (i = 0; i < k; i++)
			w[i] = rand() % 4 == 0 ? (double)rand() / RAND_MAX :
			    (double)(rand() % 100) / 1e4;
		for (i = 0; i < k * k; i++)
			memo[i] = -1.0;
		opt = tree_cost(w, 0, k - 1, memo, k);
		got = split_cost(w, 0, k - 1);
		worse += got > opt + 1e-9;
	}
	check(worse == 0, "search_split: %d of 200 trees worse than the best",
	    worse);
}

/* Run a simulated search that is told hiding GIVEN fails. */
static int simulate_given(const struct fset *cand, const struct fset *given,
			  const struct fset *needed, struct search *s)
{
	struct drive_stats st = { 0 };
	struct sim sim;

	memset(&sim, 0, sizeof(sim));
	sim.needed = *needed;
	sim.cand = cand;
	sim.closed = true;
	search_init(s, cand);
	search_given_fail(s, given);
	check(search_drive(s, &sim_ops, &sim, 3, &st) == D_DONE, "drive");
	check(sim.closed, "a mask was not closed under dependents");
	return st.attempts;
}

/*
 * featmin -f: a failure known without a trial.  The answers stay exact,
 * the trials are fewer, and a feature pinned on that word alone has no
 * failing trial in its evidence.
 */
static void test_given(void)
{
	struct fset policy = names(lab_a, sizeof(lab_a) / sizeof(lab_a[0]));
	struct fset cand, need, want, none = { { 0 } }, g;
	struct search s;
	struct sim sim;
	int cands[HM_NR_FEATURES], n = 0, f, set, wrong = 0;
	int popcnt = feat_lookup("popcnt");
	long with = 0, without = 0;

	guest_cand(&policy, &cand);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(&cand, f))
			cands[n++] = f;
	srand(11);
	for (set = 0; set < 200; set++) {
		draw(cands, n, 1 + set % 3, &cand, &need, &want);
		with += simulate_given(&cand, &cand, &need, &s);
		wrong += !fs_equal(search_needed(&s), &want);
		without += simulate(&cand, &need, &s, &sim);
	}
	check(wrong == 0, "given: %d wrong answers", wrong);
	check(with < without, "given: %ld trials, not fewer than %ld", with,
	    without);

	/* Host B lacks popcnt alone, and popcnt is what is needed. */
	g = split("popcnt");
	need = g;
	simulate_given(&cand, &g, &need, &s);
	expect(&cand, search_needed(&s), "popcnt", "given popcnt");
	check(s.ev[popcnt].fail < 0 && s.ev[popcnt].via < 0,
	    "popcnt is needed on the given word: evidence %d/%d",
	    s.ev[popcnt].fail, s.ev[popcnt].via);

	/* B lacks avx2 and popcnt; the workload needs avx2 and sse4-2. */
	g = split("avx2 popcnt");
	need = split("avx2 sse4-2");
	simulate_given(&cand, &g, &need, &s);
	expect(&cand, search_needed(&s), "avx2 avx xsave sse4-2 sse4-1 "
	    "ssse3 sse3", "given avx2 popcnt");

	/* An empty failure changes nothing. */
	need = split("popcnt");
	n = simulate(&cand, &need, &s, &sim);
	check(simulate_given(&cand, &none, &need, &s) == n,
	    "an empty given failure changed the trials");
}

static void test_unmasked_fails(void)
{
	struct fset policy = names(lab_a, sizeof(lab_a) / sizeof(lab_a[0]));
	struct fset cand, hide;
	struct drive_stats st = { 0 };
	struct search s;
	struct sim sim;

	guest_cand(&policy, &cand);
	memset(&sim, 0, sizeof(sim));
	sim.cand = &cand;
	sim.random = false;
	search_init(&s, &cand);
	check(search_next(&s, &hide) && fs_empty(&hide),
	    "the first question hides nothing");
	search_answer(&s, false, 1);
	check(search_failed_unmasked(&s), "fails unmasked");
	check(!search_next(&s, &hide), "no question after that");
	search_init(&s, &cand);
	sim.flaky = 0;
	sim.always_unknown = false;
	check(search_drive(&s, &sim_ops, &sim, 3, &st) == D_DONE,
	    "nothing needed: done");

	/* A failing baseline is asked again: a failure that goes is the rig's. */
	search_init(&s, &cand);
	memset(&st, 0, sizeof(st));
	sim.calls = 0;
	sim.fail_first = 2;
	check(search_drive(&s, &sim_ops, &sim, 3, &st) == D_DONE,
	    "a baseline that fails twice, then passes: the search goes on");
	check(st.confirmed == 2, "two repeats of the baseline, not %d",
	    st.confirmed);
	check(fs_empty(search_needed(&s)), "and finds nothing needed");
	search_init(&s, &cand);
	memset(&st, 0, sizeof(st));
	sim.calls = 0;
	sim.fail_first = 1000;
	check(search_drive(&s, &sim_ops, &sim, 3, &st) == D_UNMASKED_FAILS,
	    "a baseline that always fails: the search stops");
	check(st.attempts == 4, "after 1 + 3 attempts, not %d", st.attempts);
	sim.fail_first = 0;
}

/* 125 answers: retried, same answer; too many: stop at the question. */
static void test_unknown(void)
{
	struct fset policy = names(lab_a, sizeof(lab_a) / sizeof(lab_a[0]));
	struct fset cand, need = split("avx2 popcnt"), h1, h2;
	struct drive_stats st = { 0 };
	struct search s, ref;
	struct sim sim;
	int plain;

	guest_cand(&policy, &cand);
	plain = simulate(&cand, &need, &ref, &sim);
	memset(&sim, 0, sizeof(sim));
	sim.needed = need;
	sim.cand = &cand;
	sim.flaky = 3;
	search_init(&s, &cand);
	check(search_drive(&s, &sim_ops, &sim, 1, &st) == D_DONE,
	    "flaky: done");
	check(fs_equal(search_needed(&s), search_needed(&ref)),
	    "flaky: same answer");
	check(st.attempts == plain + st.unknown && st.unknown > 0,
	    "flaky: %d attempts = %d + %d retries", st.attempts, plain,
	    st.unknown);

	memset(&st, 0, sizeof(st));
	sim.always_unknown = true;
	search_init(&s, &cand);
	search_answer(&s, true, 1);
	search_next(&s, &h1);
	check(search_drive(&s, &sim_ops, &sim, 2, &st) == D_GAVE_UP,
	    "always 125: gives up");
	check(st.attempts == 3 && st.unknown == 3, "3 attempts, got %d",
	    st.attempts);
	check(search_next(&s, &h2) && fs_equal(&h1, &h2),
	    "gave up at the same question");
}

/* Known answers (a journal) are taken without running a trial. */
struct replay {
	struct sim sim;
	struct fset masks[256];
	bool pass[256];
	int n, limit;		/* answers known: the first LIMIT */
};

static enum verdict replay_run(void *ctx, const struct fset *hide, int nr,
			       int *id_r)
{
	struct replay *r = ctx;
	enum verdict v = sim_run(&r->sim, hide, nr, id_r);

	if (r->n < 256) {
		r->masks[r->n] = *hide;
		r->pass[r->n++] = v == V_PASS;
	}
	return v;
}

static bool replay_known(void *ctx, const struct fset *hide, bool *pass_r,
			 int *id_r)
{
	struct replay *r = ctx;
	int i;

	for (i = 0; i < r->n && i < r->limit; i++)
		if (fs_equal(&r->masks[i], hide)) {
			*pass_r = r->pass[i];
			*id_r = i + 1;
			return true;
		}
	return false;
}

static void test_replay(void)
{
	static const struct trial_ops ops = { replay_run, replay_known, NULL };
	struct fset policy = names(lab_a, sizeof(lab_a) / sizeof(lab_a[0]));
	struct fset cand;
	struct drive_stats st = { 0 };
	struct search s, first;
	struct replay *r = calloc(1, sizeof(*r));
	int total;

	guest_cand(&policy, &cand);
	r->sim.needed = split("fma bmi2");
	r->sim.cand = &cand;
	r->limit = 0;
	search_init(&first, &cand);
	search_drive(&first, &ops, r, 3, &st);
	total = st.attempts;
	r->limit = total / 2;
	memset(&st, 0, sizeof(st));
	search_init(&s, &cand);
	search_drive(&s, &ops, r, 3, &st);
	check(st.cached == total / 2 && st.attempts == total - total / 2,
	    "replay: %d cached, %d run, of %d", st.cached, st.attempts, total);
	check(fs_equal(search_needed(&s), search_needed(&first)),
	    "replay: same answer");
	free(r);
}

/* A workload that answers at random still ends, within a bound. */
static void test_nonmonotone(void)
{
	struct fset policy = names(lab_a, sizeof(lab_a) / sizeof(lab_a[0]));
	struct fset cand;
	struct drive_stats st;
	struct search s;
	struct sim sim;
	int i, worst = 0;

	guest_cand(&policy, &cand);
	srand(3);
	for (i = 0; i < 200; i++) {
		memset(&sim, 0, sizeof(sim));
		sim.cand = &cand;
		sim.random = true;
		memset(&st, 0, sizeof(st));
		search_init(&s, &cand);
		search_drive(&s, &sim_ops, &sim, 3, &st);
		worst = st.attempts > worst ? st.attempts : worst;
	}
	check(worst <= 8 * fs_count(&cand), "random answers: %d trials", worst);
}

static void test_journal(void)
{
	char path[] = "/tmp/test-search-XXXXXX";
	struct journal j, k;
	struct journal_head head;
	struct journal_rec r;
	struct perr err;
	const struct journal_rec *got;
	int fd = mkstemp(path);
	FILE *fp;

	check(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	close(fd);
	memset(&head, 0, sizeof(head));
	head.cand = split("avx2 avx xsave popcnt");
	head.extra = "rdtscp=0";
	check(journal_open(&j, path, &err) == 0, "open: %s", err.msg);
	check(journal_start(&j, &head, &err) == 0, "start");
	check(journal_open(&k, path, &err) < 0 &&
	    strstr(err.msg, "in use") != NULL, "a second open is refused");
	memset(&r, 0, sizeof(r));
	r.trial = 1;
	r.hide = split("popcnt");
	r.verdict = V_FAIL;
	r.status = 1;
	r.cpuid = "host,rdtscp=0,popcnt=0";
	r.nr_metrics = 1;
	strcpy(r.metrics[0].name, "tps");
	r.metrics[0].value = 46.1;
	check(journal_append(&j, &r, &err) == 0, "append");
	r.trial = 2;
	r.hide = split("avx2");
	r.verdict = V_UNKNOWN;
	journal_append(&j, &r, &err);
	journal_close(&j);

	/* A record cut short by a crash is dropped. */
	fp = fopen(path, "a");
	fputs("{\"trial\":3,\"kind\":\"sea", fp);
	fclose(fp);
	check(journal_open(&j, path, &err) == 0, "reopen: %s", err.msg);
	check(j.has_head && j.nr_recs == 2 && j.last_trial == 2,
	    "reloaded %zu records", j.nr_recs);
	check(journal_start(&j, &head, &err) == 0, "same search resumes");
	got = journal_find(&j, &r.hide, false);
	check(got == NULL, "an unknown verdict is no answer");
	r.hide = split("popcnt");
	got = journal_find(&j, &r.hide, false);
	check(got && got->verdict == V_FAIL && got->nr_metrics == 1 &&
	    got->metrics[0].value > 46 && got->metrics[0].value < 46.2,
	    "the failing trial with its metric");
	check(journal_find(&j, &r.hide, true) == NULL, "not a verify trial");
	head.extra = "rdtscp=0,avx=0";
	check(journal_start(&j, &head, &err) < 0 &&
	    strstr(err.msg, "another search") != NULL,
	    "another search is refused");
	r.trial = 3;
	check(journal_append(&j, &r, &err) == 0, "append after repair");
	journal_close(&j);
	check(journal_open(&j, path, &err) == 0 && j.nr_recs == 3,
	    "three records after the repair");
	journal_close(&j);

	/* The -f policy's failure belongs to the search, and stays. */
	unlink(path);
	head.extra = NULL;
	head.fails = split("avx2");
	check(journal_open(&j, path, &err) == 0, "open: %s", err.msg);
	check(journal_start(&j, &head, &err) == 0, "start with fails");
	journal_close(&j);
	check(journal_open(&j, path, &err) == 0 && j.has_head &&
	    fs_equal(&j.head.fails, &head.fails), "fails reloaded");
	memset(&head.fails, 0, sizeof(head.fails));
	check(journal_start(&j, &head, &err) < 0 &&
	    strstr(err.msg, "-f policy") != NULL,
	    "a search without the failure is another search");
	journal_close(&j);

	fp = fopen(path, "w");
	fputs("hello\n", fp);
	fclose(fp);
	check(journal_open(&j, path, &err) < 0 &&
	    strstr(err.msg, ":1: not a featmin journal") != NULL,
	    "not a journal: %s", err.msg);
	unlink(path);
}

int main(void)
{
	struct fset lab = names(lab_a, sizeof(lab_a) / sizeof(lab_a[0]));
	struct fset big = names(big_extra, sizeof(big_extra) /
	    sizeof(big_extra[0]));
	struct fset old = names(core2, sizeof(core2) / sizeof(core2[0]));

	progname = "test-search";
	fs_or(&big, &big, &lab);
	test_table();
	test_evidence();
	test_candidates();
	test_random("lab-a", &lab);
	test_random("lab-a+avx512", &big);
	test_split();
	test_all_needed("core2", &old);
	test_all_needed("lab-a", &lab);
	test_all_needed("lab-a+avx512", &big);
	test_given();
	test_unmasked_fails();
	test_unknown();
	test_replay();
	test_nonmonotone();
	test_journal();
	return harness_done("test-search");
}
