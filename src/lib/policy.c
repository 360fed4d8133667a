/* policy.c: the policy type and its featureset.  See policy.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

#define NO_SUBLEAF 0xffffffffu

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
}

void policy_release(struct policy *p)
{
	free(p->leaves);
	free(p->source_kind);
	free(p->source_name);
	policy_init(p);
}

void policy_set_source(struct policy *p, const char *kind, const char *name)
{
	free(p->source_kind);
	free(p->source_name);
	p->source_kind = estrdup(kind);
	p->source_name = name ? estrdup(name) : NULL;
}

static int leaf_cmp(uint32_t l1, uint32_t s1, uint32_t l2, uint32_t s2)
{
	if (l1 != l2)
		return l1 < l2 ? -1 : 1;
	if (s1 != s2)
		return s1 < s2 ? -1 : 1;
	return 0;
}

/* Index where (LEAF, SUB) is or would be inserted. */
static size_t leaf_pos(const struct policy *p, uint32_t leaf, uint32_t sub)
{
	size_t lo = 0, hi = p->nr_leaves;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct cpuid_leaf *l = &p->leaves[mid];

		if (leaf_cmp(l->leaf, l->subleaf, leaf, sub) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int policy_set_leaf(struct policy *p, uint32_t leaf, uint32_t subleaf,
		    uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	struct cpuid_leaf *l;
	size_t i;

	if (subleaf == NO_SUBLEAF)
		subleaf = 0;
	i = leaf_pos(p, leaf, subleaf);
	if (i == p->nr_leaves || leaf_cmp(p->leaves[i].leaf,
	    p->leaves[i].subleaf, leaf, subleaf) != 0) {
		if (p->nr_leaves >= POLICY_MAX_LEAVES)
			return -1;
		if (p->nr_leaves == p->alloc_leaves) {
			p->alloc_leaves = p->alloc_leaves ? 2 * p->alloc_leaves : 64;
			p->leaves = erealloc(p->leaves,
			    p->alloc_leaves * sizeof(*p->leaves));
		}
		memmove(&p->leaves[i + 1], &p->leaves[i],
		    (p->nr_leaves - i) * sizeof(*p->leaves));
		p->nr_leaves++;
	}
	l = &p->leaves[i];
	l->leaf = leaf;
	l->subleaf = subleaf;
	l->a = a;
	l->b = b;
	l->c = c;
	l->d = d;
	return 0;
}

const struct cpuid_leaf *policy_get_leaf(const struct policy *p,
					 uint32_t leaf, uint32_t subleaf)
{
	size_t i = leaf_pos(p, leaf, subleaf);

	if (i < p->nr_leaves && p->leaves[i].leaf == leaf &&
	    p->leaves[i].subleaf == subleaf)
		return &p->leaves[i];
	return NULL;
}

int policy_set_msr(struct policy *p, uint32_t index, uint64_t val)
{
	size_t i;

	for (i = 0; i < p->nr_msrs; i++)
		if (p->msrs[i].index == index) {
			p->msrs[i].val = val;
			return 0;
		}
	if (p->nr_msrs >= POLICY_MAX_MSRS)
		return -1;
	p->msrs[p->nr_msrs].index = index;
	p->msrs[p->nr_msrs].val = val;
	p->nr_msrs++;
	return 0;
}

bool policy_get_msr(const struct policy *p, uint32_t index, uint64_t *val_r)
{
	size_t i;

	for (i = 0; i < p->nr_msrs; i++)
		if (p->msrs[i].index == index) {
			*val_r = p->msrs[i].val;
			return true;
		}
	return false;
}

void policy_identify(struct policy *p)
{
	const struct cpuid_leaf *l0 = policy_get_leaf(p, 0, 0);
	const struct cpuid_leaf *l1 = policy_get_leaf(p, 1, 0);
	unsigned int fam, model;
	size_t i;

	p->vendor[0] = '\0';
	/*
	 * No vendor at all (a leaf 0 made up to hold a maximum leaf, as for
	 * a policy of features alone) is unknown, not twelve '?'.
	 */
	if (l0 != NULL && (l0->b | l0->c | l0->d) != 0) {
		memcpy(p->vendor, &l0->b, 4);
		memcpy(p->vendor + 4, &l0->d, 4);
		memcpy(p->vendor + 8, &l0->c, 4);
		p->vendor[12] = '\0';
		/* A vendor string is printable ASCII; anything else is noise. */
		for (i = 0; i < 12; i++)
			if (p->vendor[i] < 0x20 || p->vendor[i] > 0x7e)
				p->vendor[i] = '?';
	}
	p->family = p->model = p->stepping = 0;
	if (l1 == NULL)
		return;
	fam = (l1->a >> 8) & 0xf;
	model = (l1->a >> 4) & 0xf;
	if (fam == 0xf)
		fam += (l1->a >> 20) & 0xff;
	if (fam >= 0x6)
		model |= ((l1->a >> 16) & 0xf) << 4;
	p->family = fam;
	p->model = model;
	p->stepping = l1->a & 0xf;
}

int policy_set_identity(struct policy *p, const char *vendor,
			unsigned int family, unsigned int model,
			unsigned int stepping)
{
	const struct cpuid_leaf *l;
	uint32_t max = 1, b, c, d, sig;
	size_t i;

	if (strlen(vendor) != 12 || family > 0xf + 0xff || stepping > 0xf ||
	    model > (family >= 6 ? 0xffu : 0xfu))
		return -1;
	for (i = 0; i < 12; i++)
		if (vendor[i] < 0x21 || vendor[i] > 0x7e || vendor[i] == '?')
			return -1;
	/* The encoding policy_identify decodes: extended fields past 0xf. */
	sig = stepping | (model & 0xf) << 4 | (model >> 4) << 16;
	sig |= family > 0xf ? 0xfu << 8 | (family - 0xf) << 20 : family << 8;
	if ((l = policy_get_leaf(p, 0, 0)) != NULL && l->a > max)
		max = l->a;
	memcpy(&b, vendor, 4);
	memcpy(&d, vendor + 4, 4);
	memcpy(&c, vendor + 8, 4);
	if (policy_set_leaf(p, 0, 0, max, b, c, d) < 0)
		return -1;
	l = policy_get_leaf(p, 1, 0);
	b = l ? l->b : 0;
	c = l ? l->c : 0;
	d = l ? l->d : 0;
	if (policy_set_leaf(p, 1, 0, sig, b, c, d) < 0)
		return -1;
	policy_identify(p);
	return 0;
}

/* Is LEAF within the range leaf 0 or leaf 0x80000000 declares? */
static bool leaf_in_range(const struct policy *p, uint32_t leaf)
{
	uint32_t base = leaf & 0xffff0000u;
	const struct cpuid_leaf *top = policy_get_leaf(p, base, 0);

	if (top == NULL)
		return base == 0 ? true : false;
	return leaf <= top->a;
}

static uint32_t *reg_ptr(struct cpuid_leaf *l, enum hm_reg r)
{
	switch (r) {
	case HM_EAX: return &l->a;
	case HM_EBX: return &l->b;
	case HM_ECX: return &l->c;
	default: return &l->d;
	}
}

void policy_featureset(const struct policy *p, struct fset *fs_r)
{
	unsigned int w;

	memset(fs_r, 0, sizeof(*fs_r));
	for (w = 0; w < HM_NR_WORDS; w++) {
		const struct hm_word *hw = &hm_words[w];
		const struct cpuid_leaf *l;
		uint64_t v;

		if (hw->src == HM_SRC_MSR) {
			if (policy_get_msr(p, hw->leaf, &v))
				fs_r->w[w] = hw->reg == HM_EAX ?
				    (uint32_t)v : (uint32_t)(v >> 32);
			continue;
		}
		if (!leaf_in_range(p, hw->leaf))
			continue;
		l = policy_get_leaf(p, hw->leaf, hw->anysub ? 0 : hw->subleaf);
		if (l != NULL)
			fs_r->w[w] = *reg_ptr((struct cpuid_leaf *)l, hw->reg);
	}
	fs_known(fs_r);
}

/* Raise the maximum of LEAF's range so that LEAF is in it. */
static void extend_range(struct policy *p, uint32_t leaf)
{
	uint32_t base = leaf & 0xffff0000u;
	const struct cpuid_leaf *top = policy_get_leaf(p, base, 0);

	if (top == NULL)
		policy_set_leaf(p, base, 0, leaf, 0, 0, 0);
	else if (top->a < leaf)
		policy_set_leaf(p, base, 0, leaf, top->b, top->c, top->d);
}

void policy_apply_featureset(struct policy *p, const struct fset *fs)
{
	struct fset known = { { 0 } };
	unsigned int w;
	int i;

	for (i = 0; i < HM_NR_FEATURES; i++)
		fs_set(&known, i);
	for (w = 0; w < HM_NR_WORDS; w++) {
		const struct hm_word *hw = &hm_words[w];
		uint32_t sub = hw->anysub ? 0 : hw->subleaf;
		struct cpuid_leaf l = { hw->leaf, sub, 0, 0, 0, 0 };
		const struct cpuid_leaf *old;
		uint32_t *r;
		uint64_t v = 0;

		if (hw->src == HM_SRC_MSR) {
			uint32_t shift = hw->reg == HM_EAX ? 0 : 32;
			uint64_t mask = (uint64_t)known.w[w] << shift;

			if (!policy_get_msr(p, hw->leaf, &v) && fs->w[w] == 0)
				continue;
			v = (v & ~mask) | ((uint64_t)fs->w[w] << shift);
			policy_set_msr(p, hw->leaf, v);
			continue;
		}
		old = policy_get_leaf(p, hw->leaf, sub);
		if (old == NULL && fs->w[w] == 0)
			continue;
		if (old != NULL)
			l = *old;
		r = reg_ptr(&l, hw->reg);
		*r = (*r & ~known.w[w]) | (fs->w[w] & known.w[w]);
		if (fs->w[w] != 0)
			extend_range(p, hw->leaf);
		/* Subleaf 1.. of leaf 7 exists only when 7.0:eax says so. */
		if (hw->leaf == 7 && sub > 0 && fs->w[w] != 0) {
			const struct cpuid_leaf *l7 = policy_get_leaf(p, 7, 0);

			if (l7 == NULL || l7->a < sub)
				policy_set_leaf(p, 7, 0, sub, l7 ? l7->b : 0,
				    l7 ? l7->c : 0, l7 ? l7->d : 0);
		}
		policy_set_leaf(p, l.leaf, l.subleaf, l.a, l.b, l.c, l.d);
	}
}

void perr_printf(struct perr *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}
