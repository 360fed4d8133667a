/*
 * test-enforce.c: what hiding a feature enforces, table-driven.
 */
#include <string.h>

#include "enforce.h"
#include "harness.h"

static int F(const char *name)
{
	int f = feat_lookup(name);

	check(f >= 0, "feature '%s' unknown", name);
	return f < 0 ? 0 : f;
}

/* A set from a space-separated list of names. */
static struct fset S(const char *names)
{
	struct fset s = { { 0 } };
	char buf[256], *tok, *save = NULL;

	strncpy(buf, names, sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save))
		fs_set(&s, F(tok));
	return s;
}

static void names(const struct fset *s, char *buf, size_t n)
{
	size_t len = 0;
	int f;

	buf[0] = '\0';
	for (f = 0; f < HM_NR_FEATURES && len + 1 < n; f++)
		if (fs_has(s, f))
			len += (size_t)snprintf(buf + len, n - len, "%s%s",
			    len ? " " : "", hm_features[f].name);
}

/*
 * The class of each feature hidden alone, and what must be hidden with a
 * conditional one: XCR0 owners and CR4-guarded features are enforced,
 * the VEX/EVEX sets that own no state follow their owner, and GPR or SSE
 * instructions are CPUID only.
 */
static void test_class(void)
{
	static const struct {
		const char *name;
		enum enf_class want;
		const char *with;
	} cases[] = {
		{ "avx", ENF_ENFORCED, "" },
		{ "avx512f", ENF_ENFORCED, "" },
		{ "pku", ENF_ENFORCED, "" },
		{ "xsave", ENF_ENFORCED, "" },
		{ "mpx", ENF_ENFORCED, "" },
		{ "fsgsbase", ENF_ENFORCED, "" },
		{ "lm", ENF_ENFORCED, "" },
		{ "avx2", ENF_CONDITIONAL, "avx" },
		{ "fma", ENF_CONDITIONAL, "avx" },
		{ "f16c", ENF_CONDITIONAL, "avx" },
		{ "vaes", ENF_CONDITIONAL, "avx" },
		{ "avx512bw", ENF_CONDITIONAL, "avx512f" },
		{ "avx512-vbmi", ENF_CONDITIONAL, "avx512f" },
		{ "xsaveopt", ENF_CONDITIONAL, "xsave" },
		{ "cx16", ENF_CONDITIONAL, "lm" },
		{ "mce", ENF_CONDITIONAL, "mca" },
		{ "bmi2", ENF_CPUID_ONLY, "" },
		{ "bmi1", ENF_CPUID_ONLY, "" },
		{ "popcnt", ENF_CPUID_ONLY, "" },
		{ "sse4-2", ENF_CPUID_ONLY, "" },
		{ "aesni", ENF_CPUID_ONLY, "" },
		{ "sse2", ENF_CPUID_ONLY, "" },
		{ "fxsr", ENF_CPUID_ONLY, "" },
		{ "movbe", ENF_CPUID_ONLY, "" },
		{ "tsc", ENF_CPUID_ONLY, "" },
		{ "smap", ENF_CPUID_ONLY, "" },
	};
	char got[256];
	struct fset with;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum enf_class c = enf_class(F(cases[i].name), &with);

		names(&with, got, sizeof(got));
		check(c == cases[i].want && strcmp(got, cases[i].with) == 0,
		    "%s: %s with '%s', want %s with '%s'", cases[i].name,
		    enf_class_name(c), got, enf_class_name(cases[i].want),
		    cases[i].with);
	}
}

/* One feature against the whole hidden set. */
static void test_enforced(void)
{
	static const struct {
		const char *feature, *hidden;
		bool want;
	} cases[] = {
		{ "avx", "", true },
		{ "avx2", "avx", true },
		{ "avx2", "", false },
		{ "avx2", "avx2 bmi2 fma", false },
		{ "avx2", "xsave", true },
		/* Xen hides avx512f with avx2, and with it the ZMM state. */
		{ "avx512bw", "avx2", true },
		{ "avx512bw", "avx512-vbmi avx512vl", false },
		{ "avx512bw", "avx512f", true },
		{ "bmi2", "avx avx2", false },
		{ "popcnt", "sse4-2", false },
		{ "sse4-2", "sse4-1 sse3", false },
		{ "aesni", "sse2", false },
		/* vaes needs YMM state, not AES-NI's. */
		{ "vaes", "aesni", false },
		{ "vaes", "avx", true },
		/* Xen's NX->SMAP dependency is for its own shadow code. */
		{ "smap", "nx", false },
		{ "cx16", "lm", true },
		{ "mce", "mca", true },
		{ "mce", "", false },
		{ "cet-ss", "cet-ibt", true },
		{ "pku", "", true },
		{ "pku", "xsave", true },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fset h = S(cases[i].hidden);
		bool got = enf_enforced(F(cases[i].feature), &h);

		check(got == cases[i].want, "%s with '%s' hidden: %s, want %s",
		    cases[i].feature, cases[i].hidden,
		    got ? "enforced" : "cpuid-only",
		    cases[i].want ? "enforced" : "cpuid-only");
	}
}

static void test_split(void)
{
	struct fset h = S("avx bmi2"), e, closed, want = S("avx fma f16c avx2");
	char got[1024];

	enf_split(&h, &e, &closed);
	names(&e, got, sizeof(got));
	check(fs_subset(&want, &e), "hiding avx, bmi2: enforced '%s'", got);
	check(!fs_has(&e, F("bmi2")), "bmi2 enforced: '%s'", got);
	check(fs_has(&closed, F("avx512f")) && fs_has(&closed, F("bmi2")),
	    "closure lacks avx512f or bmi2");
	check(fs_subset(&e, &closed), "enforced beyond the hidden set");
}

/* Every control bit has an owner, and stops at least its owners. */
static void test_gates(void)
{
	struct fset cov;
	int g;

	for (g = 0; g < HM_NR_GATES; g++) {
		const int *o = hm_gates[g].owners;

		check(*o >= 0, "%s has no owner", hm_gates[g].bit);
		enf_covered(g, &cov);
		for (; *o >= 0; o++)
			check(fs_has(&cov, *o), "%s does not cover its owner %s",
			    hm_gates[g].bit, hm_features[*o].name);
	}
}

int main(void)
{
	test_class();
	test_enforced();
	test_split();
	test_gates();
	return harness_done("test-enforce");
}
