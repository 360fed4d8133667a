/*
 * isa.c: the Zydis ISA set -> Xen feature table, and the x86-64 levels.
 *
 * Sources: the ISA set of each instruction is Zydis's, taken from Intel
 * XED's instruction tables; XED's cpuid tables (its datafiles' cpuid.txt) say
 * which CPUID bit each ISA set stands for, Intel's SDM and AMD's APM
 * confirm it per instruction.  The names are those of the installed Xen's
 * cpufeatureset.h, through the HM_F_* indices gen-features.awk writes, so
 * the compiler rejects a name this Xen does not have.
 */
#include <stddef.h>
#include <string.h>

#include "isa.h"

#define F1(a) { ISA_FEATURE, false, 1, { HM_F_##a, 0, 0 }, NULL }
#define F2(a, b) { ISA_FEATURE, false, 2, { HM_F_##a, HM_F_##b, 0 }, NULL }
#define F3(a, b, c) { ISA_FEATURE, false, 3, { HM_F_##a, HM_F_##b, HM_F_##c }, NULL }
/* The set's default; some of its mnemonics are listed in by_mnemonic[]. */
#define M1(a) { ISA_FEATURE, true, 1, { HM_F_##a, 0, 0 }, NULL }
#define BASE(why) { ISA_BASE, false, 0, { 0, 0, 0 }, why }
#define UNNAMED(why) { ISA_UNNAMED, false, 0, { 0, 0, 0 }, why }

/*
 * Features that cpudeps.txt lists as possibly absent from an older Xen
 * header: where the header lacks them their sets count as unnamed.
 */
#ifdef HM_F_AVX512_FP16
#define FP16_VL F2(AVX512_FP16, AVX512VL)
#define FP16 F1(AVX512_FP16)
#else
#define FP16_VL UNNAMED("AVX512-FP16: not in this Xen's featureset")
#define FP16 FP16_VL
#endif
#ifdef HM_F_AVX_VNNI
#define AVX_VNNI_NEED F1(AVX_VNNI)
#else
#define AVX_VNNI_NEED UNNAMED("AVX-VNNI: not in this Xen's featureset")
#endif
#ifdef HM_F_TSXLDTRK
#define TSXLDTRK_NEED F1(TSXLDTRK)
#else
#define TSXLDTRK_NEED UNNAMED("TSXLDTRK: not in this Xen's featureset")
#endif

#define BASE_ISA BASE("base instruction set")
#define KNC UNNAMED("Knights Corner coprocessor only (Zydis's KNC mode)")
#define PADLOCK UNNAMED("VIA PadLock: leaf 0xc0000001, not in Xen's featureset")
#define AMX UNNAMED("AMX: not in this Xen's featureset")

/*
 * Every ISA set of Zydis 4.0, in its enum's order: X(SET, NEED).  The
 * 128- and 256-bit EVEX forms need AVX512VL besides their own feature; the
 * 128N forms (no VL form exists), scalar and mask-register (KOP) forms do
 * not.
 */
#define ISA_SETS(X) \
	X(INVALID, BASE("not an instruction")) \
	X(ADOX_ADCX, F1(ADX)) \
	X(AES, F1(AESNI)) \
	X(AMD, BASE("XED's cpuid table gives it no CPUID bit")) \
	X(AMD3DNOW, F1(3DNOW)) \
	X(AMD_INVLPGB, UNNAMED("INVLPGB: not in this Xen's featureset")) \
	X(AMX_BF16, AMX) \
	X(AMX_INT8, AMX) \
	X(AMX_TILE, AMX) \
	X(AVX, F1(AVX)) \
	X(AVX2, F1(AVX2)) \
	X(AVX2GATHER, F1(AVX2)) \
	X(AVX512BW_128, F2(AVX512BW, AVX512VL)) \
	X(AVX512BW_128N, F1(AVX512BW)) \
	X(AVX512BW_256, F2(AVX512BW, AVX512VL)) \
	X(AVX512BW_512, F1(AVX512BW)) \
	X(AVX512BW_KOP, F1(AVX512BW)) \
	X(AVX512CD_128, F2(AVX512CD, AVX512VL)) \
	X(AVX512CD_256, F2(AVX512CD, AVX512VL)) \
	X(AVX512CD_512, F1(AVX512CD)) \
	X(AVX512DQ_128, F2(AVX512DQ, AVX512VL)) \
	X(AVX512DQ_128N, F1(AVX512DQ)) \
	X(AVX512DQ_256, F2(AVX512DQ, AVX512VL)) \
	X(AVX512DQ_512, F1(AVX512DQ)) \
	X(AVX512DQ_KOP, F1(AVX512DQ)) \
	X(AVX512DQ_SCALAR, F1(AVX512DQ)) \
	X(AVX512ER_512, F1(AVX512ER)) \
	X(AVX512ER_SCALAR, F1(AVX512ER)) \
	X(AVX512F_128, F2(AVX512F, AVX512VL)) \
	X(AVX512F_128N, F1(AVX512F)) \
	X(AVX512F_256, F2(AVX512F, AVX512VL)) \
	X(AVX512F_512, F1(AVX512F)) \
	X(AVX512F_KOP, F1(AVX512F)) \
	X(AVX512F_SCALAR, F1(AVX512F)) \
	X(AVX512PF_512, F1(AVX512PF)) \
	X(AVX512_4FMAPS_512, F1(AVX512_4FMAPS)) \
	X(AVX512_4FMAPS_SCALAR, F1(AVX512_4FMAPS)) \
	X(AVX512_4VNNIW_512, F1(AVX512_4VNNIW)) \
	X(AVX512_BF16_128, F2(AVX512_BF16, AVX512VL)) \
	X(AVX512_BF16_256, F2(AVX512_BF16, AVX512VL)) \
	X(AVX512_BF16_512, F1(AVX512_BF16)) \
	X(AVX512_BITALG_128, F2(AVX512_BITALG, AVX512VL)) \
	X(AVX512_BITALG_256, F2(AVX512_BITALG, AVX512VL)) \
	X(AVX512_BITALG_512, F1(AVX512_BITALG)) \
	X(AVX512_FP16_128, FP16_VL) \
	X(AVX512_FP16_128N, FP16) \
	X(AVX512_FP16_256, FP16_VL) \
	X(AVX512_FP16_512, FP16) \
	X(AVX512_FP16_SCALAR, FP16) \
	X(AVX512_GFNI_128, F3(GFNI, AVX512F, AVX512VL)) \
	X(AVX512_GFNI_256, F3(GFNI, AVX512F, AVX512VL)) \
	X(AVX512_GFNI_512, F2(GFNI, AVX512F)) \
	X(AVX512_IFMA_128, F2(AVX512_IFMA, AVX512VL)) \
	X(AVX512_IFMA_256, F2(AVX512_IFMA, AVX512VL)) \
	X(AVX512_IFMA_512, F1(AVX512_IFMA)) \
	X(AVX512_VAES_128, F3(VAES, AVX512F, AVX512VL)) \
	X(AVX512_VAES_256, F3(VAES, AVX512F, AVX512VL)) \
	X(AVX512_VAES_512, F2(VAES, AVX512F)) \
	X(AVX512_VBMI2_128, F2(AVX512_VBMI2, AVX512VL)) \
	X(AVX512_VBMI2_256, F2(AVX512_VBMI2, AVX512VL)) \
	X(AVX512_VBMI2_512, F1(AVX512_VBMI2)) \
	X(AVX512_VBMI_128, F2(AVX512_VBMI, AVX512VL)) \
	X(AVX512_VBMI_256, F2(AVX512_VBMI, AVX512VL)) \
	X(AVX512_VBMI_512, F1(AVX512_VBMI)) \
	X(AVX512_VNNI_128, F2(AVX512_VNNI, AVX512VL)) \
	X(AVX512_VNNI_256, F2(AVX512_VNNI, AVX512VL)) \
	X(AVX512_VNNI_512, F1(AVX512_VNNI)) \
	X(AVX512_VP2INTERSECT_128, F2(AVX512_VP2INTERSECT, AVX512VL)) \
	X(AVX512_VP2INTERSECT_256, F2(AVX512_VP2INTERSECT, AVX512VL)) \
	X(AVX512_VP2INTERSECT_512, F1(AVX512_VP2INTERSECT)) \
	X(AVX512_VPCLMULQDQ_128, F3(VPCLMULQDQ, AVX512F, AVX512VL)) \
	X(AVX512_VPCLMULQDQ_256, F3(VPCLMULQDQ, AVX512F, AVX512VL)) \
	X(AVX512_VPCLMULQDQ_512, F2(VPCLMULQDQ, AVX512F)) \
	X(AVX512_VPOPCNTDQ_128, F2(AVX512_VPOPCNTDQ, AVX512VL)) \
	X(AVX512_VPOPCNTDQ_256, F2(AVX512_VPOPCNTDQ, AVX512VL)) \
	X(AVX512_VPOPCNTDQ_512, F1(AVX512_VPOPCNTDQ)) \
	X(AVXAES, F2(AESNI, AVX)) \
	X(AVX_GFNI, F2(GFNI, AVX)) \
	X(AVX_VNNI, AVX_VNNI_NEED) \
	X(BMI1, M1(BMI1)) \
	X(BMI2, F1(BMI2)) \
	X(CET, M1(CET_SS)) \
	X(CLDEMOTE, BASE("a hint: a NOP where CLDEMOTE is not supported")) \
	X(CLFLUSHOPT, F1(CLFLUSHOPT)) \
	X(CLFSH, F1(CLFLUSH)) \
	X(CLWB, F1(CLWB)) \
	X(CLZERO, F1(CLZERO)) \
	X(CMOV, F1(CMOV)) \
	X(CMPXCHG16B, F1(CX16)) \
	X(ENQCMD, F1(ENQCMD)) \
	X(F16C, F1(F16C)) \
	X(FAT_NOP, BASE("multi-byte NOP")) \
	X(FCMOV, F2(FPU, CMOV)) \
	X(FMA, F1(FMA)) \
	X(FMA4, F1(FMA4)) \
	X(FXSAVE, F1(FXSR)) \
	X(FXSAVE64, F1(FXSR)) \
	X(GFNI, F1(GFNI)) \
	X(HRESET, UNNAMED("HRESET: not in this Xen's featureset")) \
	X(I186, BASE_ISA) \
	X(I286PROTECTED, BASE_ISA) \
	X(I286REAL, BASE_ISA) \
	X(I386, BASE_ISA) \
	X(I486, BASE_ISA) \
	X(I486REAL, BASE_ISA) \
	X(I86, BASE_ISA) \
	X(INVPCID, F1(INVPCID)) \
	X(KEYLOCKER, UNNAMED("Key Locker: not in this Xen's featureset")) \
	X(KEYLOCKER_WIDE, UNNAMED("Key Locker: not in this Xen's featureset")) \
	X(KNCE, KNC) \
	X(KNCJKBR, KNC) \
	X(KNCSTREAM, KNC) \
	X(KNCV, KNC) \
	X(KNC_MISC, KNC) \
	X(KNC_PF_HINT, KNC) \
	X(LAHF, F1(LAHF_LM)) \
	X(LONGMODE, F1(LM)) \
	X(LWP, F1(LWP)) \
	X(LZCNT, F1(ABM)) \
	X(MCOMMIT, UNNAMED("MCOMMIT: not in this Xen's featureset")) \
	X(MONITOR, F1(MONITOR)) \
	X(MONITORX, F1(MONITORX)) \
	X(MOVBE, F1(MOVBE)) \
	X(MOVDIR, M1(MOVDIRI)) \
	X(MPX, BASE("a NOP unless the OS enables MPX, which Linux no longer does")) \
	X(PADLOCK_ACE, PADLOCK) \
	X(PADLOCK_PHE, PADLOCK) \
	X(PADLOCK_PMM, PADLOCK) \
	X(PADLOCK_RNG, PADLOCK) \
	X(PAUSE, BASE("REP NOP: a NOP on CPUs without it")) \
	X(PCLMULQDQ, F1(PCLMULQDQ)) \
	X(PCONFIG, UNNAMED("PCONFIG: not in this Xen's featureset")) \
	X(PENTIUMMMX, F1(MMX)) \
	X(PENTIUMREAL, M1(TSC)) \
	X(PKU, F1(PKU)) \
	X(POPCNT, F1(POPCNT)) \
	X(PPRO, BASE("P6 instructions every x86-64 CPU has (fcomi, sysenter, ud2)")) \
	X(PREFETCHWT1, F1(PREFETCHWT1)) \
	X(PREFETCH_NOP, BASE("prefetch hints: NOPs where not supported")) \
	X(PT, UNNAMED("PTWRITE: leaf 0x14, not in this Xen's featureset")) \
	X(RDPID, F1(RDPID)) \
	X(RDPMC, BASE("no CPUID bit: CR4.PCE decides")) \
	X(RDPRU, UNNAMED("RDPRU: not in this Xen's featureset")) \
	X(RDRAND, F1(RDRAND)) \
	X(RDSEED, F1(RDSEED)) \
	X(RDTSCP, F1(RDTSCP)) \
	X(RDWRFSGS, F1(FSGSBASE)) \
	X(RTM, F1(RTM)) \
	X(SERIALIZE, F1(SERIALIZE)) \
	X(SGX, F1(SGX)) \
	X(SGX_ENCLV, F1(SGX)) \
	X(SHA, F1(SHA)) \
	X(SMAP, F1(SMAP)) \
	X(SMX, F1(SMX)) \
	X(SNP, UNNAMED("SEV-SNP: not in this Xen's featureset")) \
	X(SSE, F1(SSE)) \
	X(SSE2, F1(SSE2)) \
	X(SSE2MMX, F1(SSE2)) \
	X(SSE3, F1(SSE3)) \
	X(SSE3X87, F1(SSE3)) \
	X(SSE4, F1(SSE4_1)) \
	X(SSE42, F1(SSE4_2)) \
	X(SSE4A, F1(SSE4A)) \
	X(SSEMXCSR, F1(SSE)) \
	X(SSE_PREFETCH, F1(SSE)) \
	X(SSSE3, F1(SSSE3)) \
	X(SSSE3MMX, F1(SSSE3)) \
	X(SVM, F1(SVM)) \
	X(TBM, F1(TBM)) \
	X(TDX, UNNAMED("TDX: not in this Xen's featureset")) \
	X(TSX_LDTRK, TSXLDTRK_NEED) \
	X(UINTR, UNNAMED("user interrupts: not in this Xen's featureset")) \
	X(VAES, F2(VAES, AVX)) \
	X(VMFUNC, UNNAMED("VMFUNC: a VMX control, not a CPUID bit")) \
	X(VPCLMULQDQ, F2(VPCLMULQDQ, AVX)) \
	X(VTX, F1(VMX)) \
	X(WAITPKG, UNNAMED("WAITPKG: not in this Xen's featureset")) \
	X(X87, F1(FPU)) \
	X(XOP, F1(XOP)) \
	X(XSAVE, F1(XSAVE)) \
	X(XSAVEC, F1(XSAVEC)) \
	X(XSAVEOPT, F1(XSAVEOPT)) \
	X(XSAVES, F1(XSAVES))

/*
 * Each set may be listed once (a second one redeclares its enumerator),
 * each name must be one of Zydis's, and the count must be Zydis's: so
 * every ZydisISASet value has exactly one entry.
 */
#define LISTED(set, need) ISA_LISTED_##set,
enum { ISA_SETS(LISTED) ISA_NR_LISTED };
_Static_assert(ISA_NR_LISTED == ZYDIS_ISA_SET_MAX_VALUE + 1,
    "the installed Zydis has ISA sets the table in isa.c does not list");

#define ENTRY(set, need) [ZYDIS_ISA_SET_##set] = need,
static const struct isa_need isa_table[ZYDIS_ISA_SET_MAX_VALUE + 1] = {
	ISA_SETS(ENTRY)
};

/*
 * Mnemonics whose need differs from their set's (the set's entry says
 * by_mnemonic).  The hints run on every x86-64 CPU: GCC emits TZCNT's
 * encoding (REP BSF) for __builtin_ctz in code for any CPU, since the two
 * agree wherever the input is not zero; ENDBR and RDSSP are NOPs where
 * CET is absent or off.
 */
static const struct {
	ZydisISASet set;
	ZydisMnemonic mn;
	struct isa_need need;
} by_mnemonic[] = {
	{ ZYDIS_ISA_SET_BMI1, ZYDIS_MNEMONIC_TZCNT,
	  BASE("REP BSF: runs as BSF without BMI1") },
	{ ZYDIS_ISA_SET_CET, ZYDIS_MNEMONIC_ENDBR32,
	  BASE("a NOP without CET-IBT") },
	{ ZYDIS_ISA_SET_CET, ZYDIS_MNEMONIC_ENDBR64,
	  BASE("a NOP without CET-IBT") },
	{ ZYDIS_ISA_SET_CET, ZYDIS_MNEMONIC_RDSSPD,
	  BASE("a NOP without shadow stacks") },
	{ ZYDIS_ISA_SET_CET, ZYDIS_MNEMONIC_RDSSPQ,
	  BASE("a NOP without shadow stacks") },
	{ ZYDIS_ISA_SET_MOVDIR, ZYDIS_MNEMONIC_MOVDIR64B, F1(MOVDIR64B) },
	{ ZYDIS_ISA_SET_PENTIUMREAL, ZYDIS_MNEMONIC_CMPXCHG8B, F1(CX8) },
	{ ZYDIS_ISA_SET_PENTIUMREAL, ZYDIS_MNEMONIC_RDMSR, F1(MSR) },
	{ ZYDIS_ISA_SET_PENTIUMREAL, ZYDIS_MNEMONIC_WRMSR, F1(MSR) },
};

const struct isa_need *isa_set_entry(ZydisISASet set)
{
	static const struct isa_need invalid = BASE("not an instruction");

	if ((unsigned int)set > ZYDIS_ISA_SET_MAX_VALUE)
		return &invalid;
	return &isa_table[set];
}

const struct isa_need *isa_need(ZydisISASet set, ZydisMnemonic mn)
{
	const struct isa_need *n = isa_set_entry(set);
	size_t i;

	if (!n->by_mnemonic)
		return n;
	for (i = 0; i < sizeof(by_mnemonic) / sizeof(by_mnemonic[0]); i++)
		if (by_mnemonic[i].set == set && by_mnemonic[i].mn == mn)
			return &by_mnemonic[i].need;
	return n;
}

/* The x86-64 psABI, "Micro-architecture levels". */
static const struct {
	const char *name;
	int nfeat;
	int feat[9];
} levels[ISA_LEVEL_MAX + 1] = {
	[1] = { "x86-64-baseline", 0, { 0 } },
	[2] = { "x86-64-v2", 7, { HM_F_CX16, HM_F_LAHF_LM, HM_F_POPCNT,
	    HM_F_SSE3, HM_F_SSE4_1, HM_F_SSE4_2, HM_F_SSSE3 } },
	[3] = { "x86-64-v3", 9, { HM_F_AVX, HM_F_AVX2, HM_F_BMI1, HM_F_BMI2,
	    HM_F_F16C, HM_F_FMA, HM_F_ABM, HM_F_MOVBE, HM_F_XSAVE } },
	[4] = { "x86-64-v4", 5, { HM_F_AVX512F, HM_F_AVX512BW, HM_F_AVX512CD,
	    HM_F_AVX512DQ, HM_F_AVX512VL } },
};

const char *isa_level_name(int level)
{
	if (level < 1 || level > ISA_LEVEL_MAX)
		return NULL;
	return levels[level].name;
}

int isa_level_by_name(const char *name)
{
	int l;

	for (l = 2; l <= ISA_LEVEL_MAX; l++)
		if (strcmp(levels[l].name, name) == 0)
			return l;
	return 0;
}

void isa_level_features(int level, bool cumulative, struct fset *fs_r)
{
	int l, i;

	memset(fs_r, 0, sizeof(*fs_r));
	for (l = cumulative ? 2 : level; l <= level && l <= ISA_LEVEL_MAX; l++)
		for (i = 0; l >= 2 && i < levels[l].nfeat; i++)
			fs_set(fs_r, levels[l].feat[i]);
}
