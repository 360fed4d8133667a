/*
 * enforce.c: enforcement classes from the generated control-bit table.
 */
#include <string.h>

#include "enforce.h"

const char *enf_class_name(enum enf_class c)
{
	static const char *const names[] = {
		[ENF_CPUID_ONLY] = "cpuid-only",
		[ENF_CONDITIONAL] = "conditional",
		[ENF_ENFORCED] = "enforced",
	};

	return names[c];
}

/* The owners of hm_gates[G] as a set. */
static void owners(int g, struct fset *r)
{
	const int *o;

	memset(r, 0, sizeof(*r));
	for (o = hm_gates[g].owners; *o >= 0; o++)
		fs_set(r, *o);
}

/*
 * A fixed point over the dependency table, like fs_close_hidden, but
 * stopping at the dependencies that carry no state.
 */
void enf_covered(int g, struct fset *r)
{
	bool changed;
	int i;

	owners(g, r);
	do {
		changed = false;
		for (i = 0; i < HM_NR_DEPS; i++)
			if (!hm_deps[i].stateless &&
			    fs_has(r, hm_deps[i].parent) &&
			    !fs_has(r, hm_deps[i].child)) {
				fs_set(r, hm_deps[i].child);
				changed = true;
			}
	} while (changed);
}

/*
 * Xen refuses hm_gates[G] to a guest denied HIDDEN (a closed set) only
 * when it lacks every owner: CR4.MCE stays with mca alone.
 */
static bool refused(int g, const struct fset *hidden)
{
	struct fset o;

	owners(g, &o);
	return fs_subset(&o, hidden);
}

void enf_split(const struct fset *hidden, struct fset *enforced_r,
	       struct fset *hidden_r)
{
	struct fset h = *hidden, cov;
	int g;

	fs_close_hidden(&h);
	memset(enforced_r, 0, sizeof(*enforced_r));
	for (g = 0; g < HM_NR_GATES; g++)
		if (refused(g, &h)) {
			enf_covered(g, &cov);
			fs_or(enforced_r, enforced_r, &cov);
		}
	fs_and(enforced_r, enforced_r, &h);
	if (hidden_r != NULL)
		*hidden_r = h;
}

bool enf_enforced(int f, const struct fset *hidden)
{
	struct fset h = *hidden, e;

	fs_set(&h, f);
	enf_split(&h, &e, NULL);
	return fs_has(&e, f);
}

enum enf_class enf_class(int f, struct fset *with_r)
{
	struct fset none = { { 0 } }, self = { { 0 } }, cov, cond, all;
	struct fset best = { { 0 } };
	int g, n, nbest = -1;

	if (with_r != NULL)
		memset(with_r, 0, sizeof(*with_r));
	if (enf_enforced(f, &none))
		return ENF_ENFORCED;
	fs_set(&self, f);
	fs_close_hidden(&self);
	for (g = 0; g < HM_NR_GATES; g++) {
		enf_covered(g, &cov);
		if (!fs_has(&cov, f))
			continue;
		owners(g, &cond);
		fs_andnot(&cond, &cond, &self);
		fs_or(&all, &cond, &self);
		fs_close_hidden(&all);
		n = fs_count(&all);
		if (nbest < 0 || n < nbest) {
			nbest = n;
			best = cond;
		}
	}
	if (nbest < 0)
		return ENF_CPUID_ONLY;
	if (with_r != NULL)
		*with_r = best;
	return ENF_CONDITIONAL;
}
