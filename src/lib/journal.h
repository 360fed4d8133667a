/*
 * journal.h: featmin's record of finished trials, so that a run can resume.
 *
 * The journal is JSON Lines: one header object that says which search it
 * belongs to, then one object per finished trial, each appended with a
 * single write() and fsync()ed before the next trial starts.  A line cut
 * short by a crash is dropped when the journal is opened again; every
 * complete line stays.  An exclusive flock() keeps two runs apart.
 */
#ifndef HETMIG_JOURNAL_H
#define HETMIG_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "feat.h"
#include "policy.h"
#include "search.h"

#define JOURNAL_FORMAT "hetmig-featmin/1"
#define JOURNAL_MAX_METRICS 16

/* What a journal was started for; a resumed run must match it. */
struct journal_head {
	struct fset policy;	/* the features the guest sees */
	struct fset fixed;	/* never hidden */
	struct fset cand;	/* what the search may hide */
	char *extra;		/* owned: items every cpuid= line carries, or NULL */
	struct fset fails;	/* featmin -f: hiding these is known to fail */
	struct fset scan;	/* featmin --scan: kept, programs use them blind */
};

struct metric {
	char name[48];
	double value;
};

/* One finished trial. */
struct journal_rec {
	int trial;		/* HETMIG_TRIAL */
	bool verify;		/* the final --verify trial */
	struct fset hide;	/* features hidden */
	const char *cpuid;	/* the cpuid= value (borrowed) */
	enum verdict verdict;
	int status;		/* exit status, or 128+signal */
	double seconds;
	struct metric metrics[JOURNAL_MAX_METRICS];
	int nr_metrics;
};

struct journal {
	int fd;
	char *path;		/* owned */
	bool has_head;
	struct journal_head head;
	struct journal_rec *recs;	/* owned; cpuid pointers are NULL */
	size_t nr_recs, alloc_recs;
	int last_trial;		/* highest trial number seen, 0 if none */
};

/*
 * journal_open: open PATH, creating it if needed, lock it, and load what
 * it holds (J->has_head tells whether it already had a header).  Returns 0,
 * or -1 with ERR filled.  On failure J owns nothing.
 */
int journal_open(struct journal *j, const char *path, struct perr *err);

/* journal_memory: a journal kept in memory only (no file, no resume). */
void journal_memory(struct journal *j);

/* journal_close: unlock, close and free what J owns. */
void journal_close(struct journal *j);

/*
 * journal_start: write HEAD as the header of a journal that has none, or
 * check that it matches the one it has.  Returns 0, or -1 with ERR filled.
 */
int journal_start(struct journal *j, const struct journal_head *head,
		  struct perr *err);

/*
 * journal_append: append R as one line and fsync it; R is also kept in J.
 * Returns 0, or -1 with ERR filled.
 */
int journal_append(struct journal *j, const struct journal_rec *r,
		   struct perr *err);

/*
 * journal_find: the latest finished (pass or fail) record hiding exactly
 * HIDE, of the given kind, or NULL.
 */
const struct journal_rec *journal_find(const struct journal *j,
				       const struct fset *hide, bool verify);

/* Mean duration of the finished trials in J, or 0 when there are none. */
double journal_mean_seconds(const struct journal *j);

/* fset_hex: FS as colon-separated 8-digit hex words into BUF (size N). */
void fset_hex(const struct fset *fs, char *buf, size_t n);
/* fset_unhex: the reverse; -1 when S is not such a list. */
int fset_unhex(const char *s, struct fset *fs_r);

void journal_head_release(struct journal_head *h);

#endif
