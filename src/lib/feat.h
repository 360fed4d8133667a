/*
 * feat.h: the CPU feature model.
 *
 * The tables behind it are generated at build time from the installed
 * <xen/arch-x86/cpufeatureset.h>, from cpudeps.txt and from cpuenforce.txt
 * (see gen-features.awk), so a feature's name, word and bit are always the
 * installed Xen's.
 */
#ifndef HETMIG_FEAT_H
#define HETMIG_FEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feat-sizes.h"

enum hm_src { HM_SRC_CPUID, HM_SRC_MSR };
enum hm_reg { HM_EAX, HM_EBX, HM_ECX, HM_EDX };

/* Where one featureset word lives: a CPUID leaf/subleaf register or an MSR. */
struct hm_word {
	enum hm_src src;
	uint32_t leaf;		/* CPUID leaf, or MSR index */
	uint32_t subleaf;
	bool anysub;		/* leaf has no subleaves: subleaf is ignored */
	enum hm_reg reg;	/* for MSRs: eax = low half, edx = high half */
};

struct hm_feature {
	const char *name;	/* Xen's name, lower case, '_' -> '-' */
	unsigned int value;	/* word * 32 + bit */
	const char *attrs;	/* letters from the header's comment: A S H a s h ! */
};

/* Dependent `child` cannot be present without prerequisite `parent`. */
struct hm_dep {
	int parent;
	int child;
	bool stateless;	/* child does not use parent's state (cpuenforce.txt) */
};

/* The most features that guard one control bit (CR4.MCE: mce, mca). */
#define HM_GATE_OWNERS 4

/*
 * A control bit (an XCR0 component, a CR4 or an EFER bit) that Xen refuses
 * a guest whose policy lacks every one of `owners`, and whose refusal stops
 * those features and their dependents (see cpuenforce.txt and enforce.h).
 */
struct hm_gate {
	const char *bit;			/* "xcr0.ymm", "cr4.pke", ... */
	int owners[HM_GATE_OWNERS + 1];		/* feature indexes, then -1 */
};

extern const char hm_deps_version[];
extern const struct hm_word hm_words[HM_NR_WORDS];
extern const struct hm_feature hm_features[HM_NR_FEATURES];
extern const struct hm_dep hm_deps[HM_NR_DEPS];
extern const struct hm_gate hm_gates[HM_NR_GATES];

/* A set of features, indexed like Xen's featureset. */
struct fset {
	uint32_t w[HM_NR_WORDS];
};

_Static_assert(HM_NR_WORDS >= 19, "cpufeatureset.h has fewer words than 4.17");
_Static_assert(HM_NR_FEATURES > 100, "too few features: generator broken?");
_Static_assert(HM_NR_GATES >= 10, "too few control bits: generator broken?");

/*
 * feat_lookup: index into hm_features of NAME, or -1.  NAME may use '_',
 * '-' or '.' and upper case, or be one of the Linux /proc/cpuinfo names
 * listed in feat.c's alias table.
 */
int feat_lookup(const char *name);

/* Position of feature I in a featureset. */
static inline unsigned int feat_word(int i) { return hm_features[i].value / 32; }
static inline unsigned int feat_bit(int i) { return hm_features[i].value % 32; }

/* feat_by_value: index of the feature at word*32+bit, or -1. */
int feat_by_value(unsigned int value);

/* Register names for messages: "eax" ... */
const char *reg_name(enum hm_reg r);

bool fs_has(const struct fset *s, int i);
void fs_set(struct fset *s, int i);
void fs_clear(struct fset *s, int i);
bool fs_empty(const struct fset *s);
bool fs_equal(const struct fset *a, const struct fset *b);
int fs_count(const struct fset *s);
/* Only the bits that name a known feature. */
void fs_known(struct fset *s);
void fs_and(struct fset *r, const struct fset *a, const struct fset *b);
void fs_or(struct fset *r, const struct fset *a, const struct fset *b);
void fs_andnot(struct fset *r, const struct fset *a, const struct fset *b);
/* *r = a \ b is empty, i.e. a is a subset of b. */
bool fs_subset(const struct fset *a, const struct fset *b);

/*
 * fs_close_hidden: S is a set of features to hide; add every feature that
 * depends on one of them, transitively (hiding avx hides avx2 and avx512f).
 */
void fs_close_hidden(struct fset *s);

/*
 * fs_close_needed: S is a set of needed features; add every prerequisite,
 * transitively (needing avx2 means needing avx and xsave).
 */
void fs_close_needed(struct fset *s);

#endif
