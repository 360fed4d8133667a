/*
 * test-feat.c: the feature model and the policy type, table-driven.
 */
#include <string.h>

#include "feat.h"
#include "harness.h"
#include "policy.h"

static int F(const char *name)
{
	int f = feat_lookup(name);

	check(f >= 0, "feature '%s' unknown", name);
	return f < 0 ? 0 : f;
}

static void test_lookup(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "sse4_2", "sse4-2" }, { "sse4.2", "sse4-2" },
		{ "SSE4-2", "sse4-2" }, { "lahf_lm", "lahf-lm" },
		{ "pni", "sse3" }, { "pclmulqdq", "pclmulqdq" },
		{ "pclmul", "pclmulqdq" }, { "aes", "aesni" },
		{ "avx512_vbmi", "avx512-vbmi" }, { "avx512vbmi", "avx512-vbmi" },
		{ "pdpe1gb", "page1gb" }, { "sha_ni", "sha" },
		{ "avx2", "avx2" }, { "fma", "fma" }, { "bmi2", "bmi2" },
	};
	static const char *const unknown[] = {
		"", "nosuchfeature", "avx3", "sse4", "-",
		"a-name-far-longer-than-any-buffer-that-the-lookup-keeps-for-"
		"normalising-names-at-all",
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int f = feat_lookup(cases[i].in);

		check(f >= 0 && strcmp(hm_features[f].name, cases[i].want) == 0,
		    "lookup '%s': got '%s', want '%s'", cases[i].in,
		    f >= 0 ? hm_features[f].name : "(none)", cases[i].want);
	}
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		check(feat_lookup(unknown[i]) < 0, "'%s' should be unknown",
		    unknown[i]);
}

/* Where features live, as Intel's and AMD's manuals say. */
static void test_positions(void)
{
	static const struct {
		const char *name;
		uint32_t leaf, subleaf;
		enum hm_reg reg;
		unsigned int bit;
	} cases[] = {
		{ "fpu", 1, 0, HM_EDX, 0 },
		{ "sse4-2", 1, 0, HM_ECX, 20 },
		{ "fma", 1, 0, HM_ECX, 12 },
		{ "avx", 1, 0, HM_ECX, 28 },
		{ "lm", 0x80000001, 0, HM_EDX, 29 },
		{ "lahf-lm", 0x80000001, 0, HM_ECX, 0 },
		{ "avx2", 7, 0, HM_EBX, 5 },
		{ "bmi2", 7, 0, HM_EBX, 8 },
		{ "avx512f", 7, 0, HM_EBX, 16 },
		{ "xsaveopt", 0xd, 1, HM_EAX, 0 },
		{ "avx-vnni", 7, 1, HM_EAX, 4 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int f = F(cases[i].name);
		const struct hm_word *w = &hm_words[feat_word(f)];

		check(w->src == HM_SRC_CPUID && w->leaf == cases[i].leaf &&
		    (w->anysub || w->subleaf == cases[i].subleaf) &&
		    w->reg == cases[i].reg && feat_bit(f) == cases[i].bit,
		    "%s: at leaf %#x:%u %s bit %u", cases[i].name, w->leaf,
		    w->subleaf, reg_name(w->reg), feat_bit(f));
	}
	check(strcmp(hm_deps_version, "") != 0, "deps version empty");
}

static void test_closure(void)
{
	struct fset s = { { 0 } };
	static const char *const hidden_by_avx[] = {
		"avx", "fma", "f16c", "avx2", "avx512f", "avx512bw",
		"avx512-vbmi", "vaes", "vpclmulqdq",
	};
	static const char *const needed_by_avx2[] = {
		"avx2", "avx", "xsave",
	};
	size_t i;

	fs_set(&s, F("avx"));
	fs_close_hidden(&s);
	for (i = 0; i < sizeof(hidden_by_avx) / sizeof(hidden_by_avx[0]); i++)
		check(fs_has(&s, F(hidden_by_avx[i])),
		    "hiding avx should hide %s", hidden_by_avx[i]);
	check(!fs_has(&s, F("sse4-2")), "hiding avx hid sse4-2");
	check(!fs_has(&s, F("xsave")), "hiding avx hid xsave");
	check(!fs_has(&s, F("bmi2")), "hiding avx hid bmi2 (a GPR set)");

	memset(&s, 0, sizeof(s));
	fs_set(&s, F("avx2"));
	fs_close_needed(&s);
	for (i = 0; i < sizeof(needed_by_avx2) / sizeof(needed_by_avx2[0]); i++)
		check(fs_has(&s, F(needed_by_avx2[i])),
		    "needing avx2 should need %s", needed_by_avx2[i]);
	check(!fs_has(&s, F("avx512f")), "needing avx2 needs avx512f");
	check(fs_count(&s) == 3, "needing avx2: %d features, want 3",
	    fs_count(&s));
}

static void test_set_ops(void)
{
	struct fset a = { { 0 } }, b = { { 0 } }, r;

	fs_set(&a, F("avx2"));
	fs_set(&a, F("fma"));
	fs_set(&b, F("fma"));
	check(fs_subset(&b, &a), "{fma} subset of {avx2,fma}");
	check(!fs_subset(&a, &b), "{avx2,fma} not subset of {fma}");
	fs_andnot(&r, &a, &b);
	check(fs_count(&r) == 1 && fs_has(&r, F("avx2")), "a \\ b = {avx2}");
	fs_and(&r, &a, &b);
	check(fs_equal(&r, &b), "a & b = b");
	fs_or(&r, &a, &b);
	check(fs_equal(&r, &a), "a | b = a");
	memset(&r, 0, sizeof(r));
	check(fs_empty(&r), "empty set");
}

static void test_policy(void)
{
	struct policy p = POLICY_INIT, q = POLICY_INIT;
	struct fset fs, want = { { 0 } };
	struct perr err;
	static const char raw[] =
	    "CPU:\n"
	    "   0x00000000 0x00: eax=0x0000000d ebx=0x756e6547 "
	    "ecx=0x6c65746e edx=0x49656e69\n"
	    "   0x00000001 0x00: eax=0x000306c3 ebx=0x00000800 "
	    "ecx=0x00101000 edx=0x00000001\n"
	    "   0x00000007 0x00: eax=0x00000000 ebx=0x00000120 "
	    "ecx=0x00000000 edx=0x00000000\n";

	check(policy_parse(&p, raw, sizeof(raw) - 1, "t", 0, NULL, &err) == 0,
	    "parse: %s", err.msg);
	check(strcmp(p.vendor, "GenuineIntel") == 0, "vendor '%s'", p.vendor);
	check(p.family == 6 && p.model == 0x3c && p.stepping == 3,
	    "family %u model %#x stepping %u", p.family, p.model, p.stepping);
	policy_featureset(&p, &fs);
	fs_set(&want, F("fpu"));
	fs_set(&want, F("fma"));
	fs_set(&want, F("sse4-2"));
	fs_set(&want, F("avx2"));
	fs_set(&want, F("bmi2"));
	check(fs_equal(&fs, &want), "featureset of the small dump: %d features",
	    fs_count(&fs));

	/* A featureset applied to an empty policy reads back the same. */
	policy_apply_featureset(&q, &want);
	policy_featureset(&q, &fs);
	check(fs_equal(&fs, &want), "apply then read back");

	/* Leaf 7 beyond leaf 0's maximum is not there. */
	policy_set_leaf(&p, 0, 0, 6, 0, 0, 0);
	policy_featureset(&p, &fs);
	check(!fs_has(&fs, F("avx2")), "leaf 7 beyond max leaf counted");

	/* Xen's "no subleaf" is stored as 0. */
	policy_set_leaf(&q, 0x80000001u, 0xffffffffu, 0, 0, 1, 0);
	check(policy_get_leaf(&q, 0x80000001u, 0) != NULL,
	    "no-subleaf leaf not found at subleaf 0");
	policy_release(&p);
	policy_release(&q);
}

/*
 * A policy made of features alone has a leaf 0 with no vendor: unknown,
 * not "????????????".  policy_set_identity gives it one, which reads back,
 * family and model through their extended fields included.
 */
static void test_identity(void)
{
	static const struct {
		const char *vendor;
		unsigned int family, model, stepping;
		int rc;
	} cases[] = {
		{ "AuthenticAMD", 0x17, 0x01, 2, 0 },
		{ "AuthenticAMD", 0x19, 0x21, 0, 0 },
		{ "GenuineIntel", 6, 0x3c, 3, 0 },
		{ "GenuineIntel", 0xf, 0x6, 5, 0 },
		{ "GenuineIntel", 5, 0x12, 0, -1 },	/* model past 4 bits */
		{ "GenuineIntel", 6, 0x3c, 16, -1 },
		{ "GenuineIntel", 0x10f, 0, 0, -1 },
		{ "Genuine", 6, 0, 0, -1 },
		{ "Genuine?ntel", 6, 0, 0, -1 },
		{ "Genuine ntel", 6, 0, 0, -1 },
	};
	struct fset want = { { 0 } }, fs;
	size_t i;

	fs_set(&want, F("fpu"));
	fs_set(&want, F("avx2"));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy p = POLICY_INIT;
		int rc;

		policy_apply_featureset(&p, &want);
		policy_identify(&p);
		check(p.vendor[0] == '\0', "features alone: vendor '%s'",
		    p.vendor);
		rc = policy_set_identity(&p, cases[i].vendor, cases[i].family,
		    cases[i].model, cases[i].stepping);
		policy_featureset(&p, &fs);
		check(fs_equal(&fs, &want), "%s: features changed",
		    cases[i].vendor);
		if (cases[i].rc < 0) {
			check(rc < 0 && p.vendor[0] == '\0',
			    "'%s' %#x %#x %u: accepted", cases[i].vendor,
			    cases[i].family, cases[i].model, cases[i].stepping);
		} else {
			check(rc == 0 && strcmp(p.vendor, cases[i].vendor) == 0 &&
			    p.family == cases[i].family &&
			    p.model == cases[i].model &&
			    p.stepping == cases[i].stepping,
			    "'%s' %#x %#x %u: read back '%s' %#x %#x %u",
			    cases[i].vendor, cases[i].family, cases[i].model,
			    cases[i].stepping, p.vendor, p.family, p.model,
			    p.stepping);
		}
		policy_release(&p);
	}
}

int main(void)
{
	test_lookup();
	test_positions();
	test_closure();
	test_set_ops();
	test_policy();
	test_identity();
	return harness_done("test-feat");
}
