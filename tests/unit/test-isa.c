/*
 * test-isa.c: the Zydis ISA set -> feature table and the x86-64 levels,
 * table-driven; instructions decoded from bytes written out of Intel's
 * SDM and AMD's APM.
 */
#include <string.h>

#include "harness.h"
#include "isa.h"

/* "bmi2", "avx512bw avx512vl", "base", "unnamed": what N says. */
static void describe(const struct isa_need *n, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	switch (n->kind) {
	case ISA_FEATURE:
		for (i = 0; i < n->nfeat; i++) {
			if (i > 0)
				strncat(buf, " ", len - strlen(buf) - 1);
			strncat(buf, hm_features[n->feat[i]].name,
			    len - strlen(buf) - 1);
		}
		break;
	case ISA_BASE:
		snprintf(buf, len, "base");
		break;
	case ISA_UNNAMED:
		snprintf(buf, len, "unnamed");
		break;
	case ISA_UNSET:
		snprintf(buf, len, "unset");
		break;
	}
}

/* Every entry is filled in, and a feature entry names real features. */
static void test_complete(void)
{
	int s, i;

	for (s = 0; s <= ZYDIS_ISA_SET_MAX_VALUE; s++) {
		const struct isa_need *n = isa_set_entry((ZydisISASet)s);
		const char *name = ZydisISASetGetString((ZydisISASet)s);

		check(n->kind != ISA_UNSET, "ISA set %s has no entry", name);
		if (n->kind == ISA_FEATURE) {
			check(n->nfeat >= 1 && n->nfeat <= ISA_MAX_FEATS,
			    "ISA set %s: %d features", name, n->nfeat);
			for (i = 0; i < n->nfeat && i < ISA_MAX_FEATS; i++)
				check(n->feat[i] >= 0 &&
				    n->feat[i] < HM_NR_FEATURES,
				    "ISA set %s: feature index %d", name,
				    n->feat[i]);
		} else {
			check(n->why != NULL && n->why[0] != '\0',
			    "ISA set %s: no reason given", name);
		}
	}
}

static void test_sets(void)
{
	static const struct {
		ZydisISASet set;
		const char *want;
	} cases[] = {
		{ ZYDIS_ISA_SET_BMI2, "bmi2" },
		{ ZYDIS_ISA_SET_BMI1, "bmi1" },
		{ ZYDIS_ISA_SET_SSE42, "sse4-2" },
		{ ZYDIS_ISA_SET_SSE4, "sse4-1" },
		{ ZYDIS_ISA_SET_SSSE3MMX, "ssse3" },
		{ ZYDIS_ISA_SET_LZCNT, "abm" },
		{ ZYDIS_ISA_SET_POPCNT, "popcnt" },
		{ ZYDIS_ISA_SET_AVX2GATHER, "avx2" },
		{ ZYDIS_ISA_SET_AVXAES, "aesni avx" },
		{ ZYDIS_ISA_SET_AVX512BW_256, "avx512bw avx512vl" },
		{ ZYDIS_ISA_SET_AVX512BW_512, "avx512bw" },
		{ ZYDIS_ISA_SET_AVX512F_KOP, "avx512f" },
		{ ZYDIS_ISA_SET_AVX512_VAES_128, "vaes avx512f avx512vl" },
		{ ZYDIS_ISA_SET_ADOX_ADCX, "adx" },
		{ ZYDIS_ISA_SET_RDWRFSGS, "fsgsbase" },
		{ ZYDIS_ISA_SET_CLFSH, "clflush" },
		{ ZYDIS_ISA_SET_CMPXCHG16B, "cx16" },
		{ ZYDIS_ISA_SET_LAHF, "lahf-lm" },
		{ ZYDIS_ISA_SET_VTX, "vmx" },
		{ ZYDIS_ISA_SET_AMD3DNOW, "3dnow" },
		{ ZYDIS_ISA_SET_X87, "fpu" },
		{ ZYDIS_ISA_SET_I86, "base" },
		{ ZYDIS_ISA_SET_MPX, "base" },
		{ ZYDIS_ISA_SET_FAT_NOP, "base" },
		{ ZYDIS_ISA_SET_WAITPKG, "unnamed" },
		{ ZYDIS_ISA_SET_PADLOCK_RNG, "unnamed" },
	};
	char got[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		describe(isa_set_entry(cases[i].set), got, sizeof(got));
		check(strcmp(got, cases[i].want) == 0, "%s: got '%s', want '%s'",
		    ZydisISASetGetString(cases[i].set), got, cases[i].want);
	}
}

/* Instructions, decoded by Zydis from their bytes. */
static void test_decode(void)
{
	static const struct {
		const char *what;
		unsigned char len;
		unsigned char bytes[15];
		const char *mnemonic, *want;
	} cases[] = {
		{ "pdep eax, ecx, edx", 5, { 0xc4, 0xe2, 0x73, 0xf5, 0xc2 },
		  "pdep", "bmi2" },
		{ "andn eax, eax, ecx", 5, { 0xc4, 0xe2, 0x78, 0xf2, 0xc1 },
		  "andn", "bmi1" },
		{ "tzcnt eax, eax (rep bsf)", 4, { 0xf3, 0x0f, 0xbc, 0xc0 },
		  "tzcnt", "base" },
		{ "lzcnt eax, eax", 4, { 0xf3, 0x0f, 0xbd, 0xc0 },
		  "lzcnt", "abm" },
		{ "popcnt eax, eax", 4, { 0xf3, 0x0f, 0xb8, 0xc0 },
		  "popcnt", "popcnt" },
		{ "crc32 rax, rax", 6, { 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc0 },
		  "crc32", "sse4-2" },
		{ "pshufb xmm0, xmm1", 5, { 0x66, 0x0f, 0x38, 0x00, 0xc1 },
		  "pshufb", "ssse3" },
		{ "aesenc xmm0, xmm1", 5, { 0x66, 0x0f, 0x38, 0xdc, 0xc1 },
		  "aesenc", "aesni" },
		{ "vpaddd ymm0, ymm0, ymm1", 4, { 0xc5, 0xfd, 0xfe, 0xc1 },
		  "vpaddd", "avx2" },
		{ "vaddps ymm0, ymm0, ymm1", 4, { 0xc5, 0xfc, 0x58, 0xc1 },
		  "vaddps", "avx" },
		{ "vpaddd zmm0, zmm0, zmm1", 6,
		  { 0x62, 0xf1, 0x7d, 0x48, 0xfe, 0xc1 }, "vpaddd", "avx512f" },
		{ "vpaddb ymm0, ymm0, ymm1 (EVEX)", 6,
		  { 0x62, 0xf1, 0x7d, 0x28, 0xfc, 0xc1 }, "vpaddb",
		  "avx512bw avx512vl" },
		{ "movbe eax, [rax]", 4, { 0x0f, 0x38, 0xf0, 0x00 },
		  "movbe", "movbe" },
		{ "xgetbv", 3, { 0x0f, 0x01, 0xd0 }, "xgetbv", "xsave" },
		{ "rdrand eax", 3, { 0x0f, 0xc7, 0xf0 }, "rdrand", "rdrand" },
		{ "xbegin +0", 6, { 0xc7, 0xf8, 0, 0, 0, 0 }, "xbegin", "rtm" },
		{ "endbr64", 4, { 0xf3, 0x0f, 0x1e, 0xfa }, "endbr64", "base" },
		{ "rdsspq rax", 5, { 0xf3, 0x48, 0x0f, 0x1e, 0xc8 },
		  "rdsspq", "base" },
		{ "incsspq rax", 5, { 0xf3, 0x48, 0x0f, 0xae, 0xe8 },
		  "incsspq", "cet-ss" },
		{ "movdiri [rax], eax", 4, { 0x0f, 0x38, 0xf9, 0x00 },
		  "movdiri", "movdiri" },
		{ "movdir64b rax, [rcx]", 5, { 0x66, 0x0f, 0x38, 0xf8, 0x01 },
		  "movdir64b", "movdir64b" },
		{ "cmpxchg8b [rax]", 3, { 0x0f, 0xc7, 0x08 },
		  "cmpxchg8b", "cx8" },
		{ "rdtsc", 2, { 0x0f, 0x31 }, "rdtsc", "tsc" },
		{ "cpuid", 2, { 0x0f, 0xa2 }, "cpuid", "base" },
		{ "ud2", 2, { 0x0f, 0x0b }, "ud2", "base" },
		{ "nop dword [rax]", 4, { 0x0f, 0x1f, 0x40, 0x00 },
		  "nop", "base" },
		{ "add eax, ecx", 2, { 0x01, 0xc8 }, "add", "base" },
	};
	ZydisDecoder dec;
	size_t i;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
	    ZYDIS_STACK_WIDTH_64);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ZydisDecodedInstruction in;
		char got[128];

		if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL,
		    cases[i].bytes, cases[i].len, &in))) {
			check(0, "%s: does not decode", cases[i].what);
			continue;
		}
		check(in.length == cases[i].len, "%s: length %u", cases[i].what,
		    in.length);
		check(strcmp(ZydisMnemonicGetString(in.mnemonic),
		    cases[i].mnemonic) == 0, "%s: mnemonic %s", cases[i].what,
		    ZydisMnemonicGetString(in.mnemonic));
		describe(isa_need(in.meta.isa_set, in.mnemonic), got,
		    sizeof(got));
		check(strcmp(got, cases[i].want) == 0,
		    "%s (%s): got '%s', want '%s'", cases[i].what,
		    ZydisISASetGetString(in.meta.isa_set), got, cases[i].want);
	}
}

static void test_levels(void)
{
	static const struct {
		int level;
		bool cumulative;
		int count;
		const char *has, *lacks;
	} cases[] = {
		{ 2, false, 7, "sse4-2", "avx" },
		{ 3, false, 9, "bmi2", "popcnt" },
		{ 3, true, 16, "popcnt", "avx512f" },
		{ 4, false, 5, "avx512vl", "avx2" },
		{ 4, true, 21, "avx2", "avx512-vbmi" },
	};
	struct fset fs;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		isa_level_features(cases[i].level, cases[i].cumulative, &fs);
		check(fs_count(&fs) == cases[i].count, "level %d: %d features",
		    cases[i].level, fs_count(&fs));
		check(fs_has(&fs, feat_lookup(cases[i].has)), "level %d lacks %s",
		    cases[i].level, cases[i].has);
		check(!fs_has(&fs, feat_lookup(cases[i].lacks)),
		    "level %d has %s", cases[i].level, cases[i].lacks);
	}
	check(isa_level_by_name("x86-64-v3") == 3, "x86-64-v3 by name");
	check(isa_level_by_name("x86-64-v5") == 0, "x86-64-v5 by name");
	check(isa_level_by_name("x86-64-baseline") == 0, "baseline by name");
	check(strcmp(isa_level_name(4), "x86-64-v4") == 0, "level 4's name");
	check(isa_level_name(5) == NULL, "level 5 has a name");
}

int main(void)
{
	test_complete();
	test_sets();
	test_decode();
	test_levels();
	return harness_done("test-isa");
}
