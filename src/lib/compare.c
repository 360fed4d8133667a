/*
 * compare.c: see compare.h.
 */
#include <string.h>

#include "compare.h"
#include "enforce.h"
#include "util.h"

void cmp_not_compared(struct fset *r)
{
	static const char *const names[] = {
		"osxsave", "ospke", "hypervisor", "htt", "cmp-legacy",
	};
	size_t i;
	int f;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		/* Every Xen since 4.7 names them: a miss is a broken table. */
		if ((f = feat_lookup(names[i])) < 0)
			die("feature '%s' is not in the installed "
			    "cpufeatureset.h", names[i]);
		fs_set(r, f);
	}
}

void cmp_features(const struct policy *p, struct fset *fs_r)
{
	int lm = feat_lookup("lm"), syscall = feat_lookup("syscall");

	policy_featureset(p, fs_r);
	fs_known(fs_r);
	if (lm >= 0 && syscall >= 0 &&
	    strcmp(p->vendor, "GenuineIntel") == 0 &&
	    fs_has(fs_r, lm) && !fs_has(fs_r, syscall))
		fs_set(fs_r, syscall);
}

void cmp_missing(const struct fset *need, const struct fset *have,
		 struct fset *want_r, struct fset *missing_r)
{
	struct fset no;

	cmp_not_compared(&no);
	*want_r = *need;
	fs_close_needed(want_r);
	fs_andnot(want_r, want_r, &no);
	fs_andnot(missing_r, want_r, have);
}

void cmp_difference(const struct fset *a, const struct fset *b,
		    struct fset *d_r)
{
	struct fset no;

	cmp_not_compared(&no);
	fs_andnot(d_r, a, b);
	fs_andnot(d_r, d_r, &no);
}

void cmp_hide(const struct fset *bases, const struct fset *keep,
	      struct fset *hide_r)
{
	struct fset no;

	cmp_not_compared(&no);
	fs_andnot(hide_r, bases, keep);
	fs_andnot(hide_r, hide_r, &no);
	fs_close_hidden(hide_r);
	fs_andnot(hide_r, hide_r, &no);
	fs_and(hide_r, hide_r, bases);
}

void cmp_dependents(int f, const struct fset *within, struct fset *r)
{
	memset(r, 0, sizeof(*r));
	fs_set(r, f);
	fs_close_hidden(r);
	fs_clear(r, f);
	fs_and(r, r, within);
}

json_t *cmp_names_json(const struct fset *s)
{
	json_t *a = json_array();
	int f;

	if (a == NULL)
		die("out of memory");
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(s, f) &&
		    json_array_append_new(a, json_string(hm_features[f].name)))
			die("out of memory");
	return a;
}

void cmp_enforcement_json(json_t *o, int f, const struct fset *hidden)
{
	struct fset with;
	enum enf_class c = enf_class(f, &with);

	if (json_object_set_new(o, "enforcement", json_string(
	    enf_enforced(f, hidden) ? "enforced" : "cpuid-only")) < 0 ||
	    json_object_set_new(o, "class",
	    json_string(enf_class_name(c))) < 0 ||
	    json_object_set_new(o, "with", cmp_names_json(&with)) < 0)
		die("out of memory");
}

json_t *cmp_feature_json(int f, const struct fset *need,
			 const struct fset *hidden)
{
	const struct hm_word *w = &hm_words[feat_word(f)];
	struct fset deps;
	json_t *o;

	cmp_dependents(f, need, &deps);
	o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:i, s:o}",
	    "name", hm_features[f].name,
	    "source", w->src == HM_SRC_MSR ? "msr" : "cpuid",
	    "leaf", (json_int_t)w->leaf,
	    "subleaf", (json_int_t)(w->anysub ? 0 : w->subleaf),
	    "reg", reg_name(w->reg),
	    "bit", (int)(feat_bit(f) + (w->src == HM_SRC_MSR &&
	    w->reg == HM_EDX ? 32 : 0)),
	    "needed_by", cmp_names_json(&deps));
	if (o == NULL)
		die("out of memory");
	if (hidden != NULL)
		cmp_enforcement_json(o, f, hidden);
	return o;
}
