/*
 * policy.h: a CPUID policy: the raw leaves are the truth, the featureset is
 * derived from them.
 */
#ifndef HETMIG_POLICY_H
#define HETMIG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "feat.h"

struct cpuid_leaf {
	uint32_t leaf, subleaf;
	uint32_t a, b, c, d;
};

struct msr_val {
	uint32_t index;
	uint64_t val;
};

/* Bounds that keep a hostile input from taking unbounded memory. */
#define POLICY_MAX_LEAVES 4096
#define POLICY_MAX_MSRS 64

struct policy {
	char vendor[13];	/* "GenuineIntel", "AuthenticAMD", ... or "" */
	unsigned int family, model, stepping;
	struct cpuid_leaf *leaves;	/* owned, sorted by (leaf, subleaf) */
	size_t nr_leaves, alloc_leaves;
	struct msr_val msrs[POLICY_MAX_MSRS];
	size_t nr_msrs;
	char *source_kind;	/* owned: "file", "domain", "system", "cpu" */
	char *source_name;	/* owned: a path, domain, policy name; or NULL */
};

#define POLICY_INIT { "", 0, 0, 0, NULL, 0, 0, { { 0, 0 } }, 0, NULL, NULL }

void policy_init(struct policy *p);
/* Free what P owns and leave it as after policy_init. */
void policy_release(struct policy *p);
/* Replace P's source description (copies both strings; NAME may be NULL). */
void policy_set_source(struct policy *p, const char *kind, const char *name);

/*
 * policy_set_leaf: add or replace one leaf.  A subleaf of
 * XEN_CPUID_NO_SUBLEAF (~0) is stored as 0.  Returns -1 when the policy
 * already holds POLICY_MAX_LEAVES leaves.
 */
int policy_set_leaf(struct policy *p, uint32_t leaf, uint32_t subleaf,
		    uint32_t a, uint32_t b, uint32_t c, uint32_t d);
/* The leaf, or NULL.  The pointer stays valid until P changes. */
const struct cpuid_leaf *policy_get_leaf(const struct policy *p,
					 uint32_t leaf, uint32_t subleaf);
int policy_set_msr(struct policy *p, uint32_t index, uint64_t val);
bool policy_get_msr(const struct policy *p, uint32_t index, uint64_t *val_r);

/*
 * Fill vendor, family, model and stepping from leaves 0 and 1; a leaf 0
 * with no vendor bytes at all leaves the vendor unknown ("").
 */
void policy_identify(struct policy *p);

/*
 * policy_set_identity: make P say it is a VENDOR CPU (12 printable
 * characters, no '?') of FAMILY, MODEL and STEPPING: the vendor into leaf
 * 0, raising its maximum leaf to 1 at least, and the signature into leaf
 * 1's EAX as policy_identify decodes it; the other registers are kept.
 * For a policy made of features alone (featmin's output), whose leaves
 * cannot say it.  Returns -1 when an argument does not fit its field
 * (then P is unchanged), or when P is full.
 */
int policy_set_identity(struct policy *p, const char *vendor,
			unsigned int family, unsigned int model,
			unsigned int stepping);

/* The featureset the leaves describe (leaves beyond the maximum are absent). */
void policy_featureset(const struct policy *p, struct fset *fs_r);

/*
 * policy_apply_featureset: rewrite the feature bits of P's leaves so that
 * they describe FS, adding the leaves it needs (and raising the maximum
 * leaf numbers) when FS has features there.  Bits that are not features
 * (topology, sizes, signatures) are kept.
 */
void policy_apply_featureset(struct policy *p, const struct fset *fs);

/* Parsing: see format.c. */
struct perr {
	char msg[256];
};

/* perr_printf: ERR's message, formatted (cut to fit); ERR may be NULL. */
void perr_printf(struct perr *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

enum policy_format {
	FMT_UNKNOWN, FMT_CPUID_RAW, FMT_XEN_CPUID, FMT_FEATURESET, FMT_JSON
};

enum policy_format policy_detect(const char *buf, size_t len);

/*
 * policy_parse: read BUF (LEN bytes, NUL-terminated) in any known format.
 * NAME names the input in messages.  CPU picks one CPU of a multi-CPU
 * dump, or one policy of a multi-policy xen-cpuid output.  When CPUs of a
 * dump differ in their features, *differ_r (if not NULL) gets a malloc'd
 * description of the differing leaves, else NULL.  Returns 0, or -1 with
 * ERR filled: "NAME:LINE: what was expected".
 */
int policy_parse(struct policy *p, const char *buf, size_t len,
		 const char *name, int cpu, char **differ_r, struct perr *err);

/* Inputs larger than this are refused rather than read into memory. */
#define POLICY_MAX_INPUT (64u << 20)

/*
 * policy_read: read the file at PATH ("-" is standard input, "<stdin>" in
 * messages) and parse it into P as policy_parse does with CPU and
 * DIFFER_R.  When TEXT_R is not NULL, it gets the text read (NUL-ended,
 * *LEN_R bytes, unless LEN_R is NULL; the caller frees it), for readers
 * of fields a policy does not keep.  Returns 0, or -1 with ERR filled:
 * "cannot open 'PATH': why", "cannot read 'PATH': larger than 64 MiB",
 * or the parser's message; then *TEXT_R and *DIFFER_R are NULL.
 */
int policy_read(struct policy *p, const char *path, int cpu, char **differ_r,
		char **text_r, size_t *len_r, struct perr *err);

/* Writers; each returns 0 or -1 when FP reports a write error. */
int policy_write_names(const struct policy *p, FILE *fp);
int policy_write_table(const struct policy *p, FILE *fp);
int policy_write_raw(const struct policy *p, FILE *fp);
int policy_write_featureset(const struct policy *p, FILE *fp);
int policy_write_json(const struct policy *p, FILE *fp);
/* Only the featureset of FS, as names one per line. */
int fset_write_names(const struct fset *fs, FILE *fp);

#endif
