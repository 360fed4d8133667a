/*
 * compare.h: the rules by which hetmig compares policies and chooses what
 * a cpuid= line hides.  featcmp (each rule on its own) and featplan (all
 * of them at once, into a plan) use these, so that both always answer
 * alike; the JSON form of a feature is here for the same reason.
 */
#ifndef HETMIG_COMPARE_H
#define HETMIG_COMPARE_H

#include <jansson.h>

#include "feat.h"
#include "policy.h"

/*
 * cmp_not_compared: the features never compared nor hidden, as a set:
 * state, not capability.  osxsave and ospke are OS state, hypervisor says
 * who runs the guest, and htt and cmp-legacy describe the topology Xen
 * gives a domain (they follow its vCPU count), not what its CPU executes.
 */
void cmp_not_compared(struct fset *r);

/*
 * cmp_features: the featureset of P that is compared: its known
 * features, with SYSCALL counted as present on an Intel CPU that has
 * long mode but reports no SYSCALL (a dump taken from 32-bit code: Intel
 * reports the bit only in 64-bit mode).
 */
void cmp_features(const struct policy *p, struct fset *fs_r);

/*
 * cmp_missing: NEED against HAVE.  *WANT_R gets the features compared:
 * NEED with every prerequisite, less those never compared; *MISSING_R
 * those of them HAVE lacks.  HAVE has what NEED needs when *MISSING_R is
 * empty.
 */
void cmp_missing(const struct fset *need, const struct fset *have,
		 struct fset *want_r, struct fset *missing_r);

/* cmp_difference: the compared features of A that B lacks; no closure. */
void cmp_difference(const struct fset *a, const struct fset *b,
		    struct fset *d_r);

/*
 * cmp_hide: what a cpuid= line hides so that a domain created on a host
 * whose policy is any of those joined in BASES sees only KEEP's features:
 * every compared feature of BASES that KEEP lacks, and every feature of
 * BASES that depends on one of those (Xen hides them anyway; saying so
 * keeps the line honest).  Features never compared are never hidden.
 * The result can hide features of KEEP (a dependent whose prerequisite
 * KEEP lacks): the caller says so.
 */
void cmp_hide(const struct fset *bases, const struct fset *keep,
	      struct fset *hide_r);

/* cmp_dependents: the features of WITHIN that cannot be there without F. */
void cmp_dependents(int f, const struct fset *within, struct fset *r);

/* cmp_names_json: the names of S's features, in table order (new ref). */
json_t *cmp_names_json(const struct fset *s);

/*
 * cmp_enforcement_json: add to the object O feature F's "enforcement"
 * when HIDDEN (and F) are hidden ("enforced" or "cpuid-only"), its
 * "class" and, for a conditional one, what else must be hidden to
 * enforce it ("with").  Dies when out of memory.
 */
void cmp_enforcement_json(json_t *o, int f, const struct fset *hidden);

/*
 * cmp_feature_json: F as a JSON object (a new reference): name, where it
 * is (source, leaf, subleaf, reg, bit), the features of NEED that need it
 * ("needed_by"); and, unless HIDDEN is NULL, its enforcement when HIDDEN
 * is hidden (cmp_enforcement_json).  Dies when out of memory.
 */
json_t *cmp_feature_json(int f, const struct fset *need,
			 const struct fset *hidden);

#endif
