/*
 * enforce.h: what hiding a feature from a guest enforces.
 *
 * A cpuid= line clears CPUID bits; the CPU still executes the instructions
 * of a hidden feature unless Xen also refuses the guest a control bit the
 * feature needs (an XCR0 component, a CR4 or an EFER bit: cpuenforce.txt
 * says which, after Xen's source).  A program that uses an instruction
 * without asking CPUID ("blind": -march=native, -mbmi2) therefore keeps
 * running on a host where the feature is hidden but present, and dies
 * with SIGILL on a host that lacks it.  These functions say which hidden
 * features it can still use.
 */
#ifndef HETMIG_ENFORCE_H
#define HETMIG_ENFORCE_H

#include <stdbool.h>

#include "feat.h"

/* What hiding one feature does, whatever else is hidden with it. */
enum enf_class {
	ENF_CPUID_ONLY,		/* nothing Xen refuses stops it */
	ENF_CONDITIONAL,	/* stopped only when more is hidden (avx2: avx) */
	ENF_ENFORCED,		/* hiding it alone stops it (avx, pku) */
};

/* "cpuid-only", "conditional", "enforced". */
const char *enf_class_name(enum enf_class c);

/*
 * enf_covered: the features whose use Xen stops when it refuses the
 * control bit hm_gates[G]: its owners and, transitively, their dependents
 * in cpudeps.txt, except along the dependencies cpuenforce.txt marks
 * "not-state".
 */
void enf_covered(int g, struct fset *r);

/*
 * enf_split: of the features a guest is denied when HIDDEN is hidden from
 * it (HIDDEN with every dependent, as Xen hides them), the ones whose use
 * then faults into *ENFORCED_R; the rest of that closure is CPUID only.
 * HIDDEN need not be closed.  *HIDDEN_R, unless NULL, gets the closure.
 */
void enf_split(const struct fset *hidden, struct fset *enforced_r,
	       struct fset *hidden_r);

/*
 * enf_enforced: whether a guest from which HIDDEN and feature F are hidden
 * cannot use F: true when Xen refuses a control bit F's use needs.  avx2
 * is enforced when avx is hidden too, and CPUID only when hidden alone.
 */
bool enf_enforced(int f, const struct fset *hidden);

/*
 * enf_class: the class of feature F.  For ENF_CONDITIONAL, *WITH_R
 * (unless NULL) gets the fewest further features whose hiding makes F
 * enforced, choosing the bit whose refusal hides the least (avx2: {avx},
 * not {xsave}); otherwise it is emptied.
 */
enum enf_class enf_class(int f, struct fset *with_r);

#endif
