/*
 * isa.h: which CPU feature an x86 instruction needs, in Xen's names.
 *
 * Zydis (built from Intel's XED tables) gives every decoded instruction an
 * ISA set; one table in isa.c says, for every ISA set of the installed
 * Zydis, which features of the generated feature table (feat.h) it needs,
 * or why it needs none that Xen could hide.  The table is checked when it
 * is compiled: a Zydis with one ISA set more, less or renamed, or a Xen
 * header without a feature the table names, fails the build instead of
 * silently dropping instructions.
 */
#ifndef HETMIG_ISA_H
#define HETMIG_ISA_H

#include <stdbool.h>

#include <Zydis/Zydis.h>

#include "feat.h"

enum isa_kind {
	ISA_UNSET,	/* no entry: never in a finished table (test-isa) */
	ISA_FEATURE,	/* needs every feature of feat[] */
	ISA_BASE,	/* no CPUID bit: every x86-64 CPU runs it, or runs it
			   as a NOP or as an older instruction (why says which) */
	ISA_UNNAMED,	/* a CPUID bit that Xen's featureset does not name, so
			   no cpuid= line can hide or show it */
};

#define ISA_MAX_FEATS 3

struct isa_need {
	enum isa_kind kind;
	bool by_mnemonic;	/* some mnemonics of the set differ: see isa.c */
	int nfeat;
	int feat[ISA_MAX_FEATS];	/* indices into hm_features */
	const char *why;	/* ISA_BASE, ISA_UNNAMED: a short reason */
};

/*
 * isa_need: what an instruction of ISA set SET with mnemonic MN needs.
 * Never NULL for a set of the installed Zydis; the result is static.
 */
const struct isa_need *isa_need(ZydisISASet set, ZydisMnemonic mn);

/* The entry of SET alone, before mnemonic exceptions (for the tests). */
const struct isa_need *isa_set_entry(ZydisISASet set);

/*
 * The x86-64 psABI micro-architecture levels, as the GNU property note
 * (GNU_PROPERTY_X86_ISA_1_NEEDED) and glibc-hwcaps directories name them.
 * Level 1 is the baseline, 2 to 4 are x86-64-v2 to -v4.
 */
#define ISA_LEVEL_MAX 4

/* "x86-64-baseline", "x86-64-v2", ... for LEVEL 1..4; NULL otherwise. */
const char *isa_level_name(int level);

/* isa_level_by_name: 2..4 for "x86-64-v2".."x86-64-v4", else 0. */
int isa_level_by_name(const char *name);

/*
 * isa_level_features: the features level LEVEL adds to the one below it
 * (LEVEL 2..4), or every feature up to it with CUMULATIVE.  The baseline
 * (level 1) is search_default_fixed's business, not this table's.
 */
void isa_level_features(int level, bool cumulative, struct fset *fs_r);

#endif
