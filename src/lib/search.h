/*
 * search.h: find which CPU features a workload needs, with few trials.
 *
 * The model: a trial hides a set of features from the guest and the
 * workload passes or fails.  Hiding a feature hides everything that depends
 * on it (fs_close_hidden).  The workload passes iff no needed feature is
 * hidden; needing a feature means needing its prerequisites, so the set the
 * search reports is closed under prerequisites (fs_close_needed).
 *
 * The search is adaptive group testing over the candidate features laid out
 * in dependency post-order (every feature after all of its dependents), so
 * that each group it hides is a run of whole dependency subtrees (a
 * prefix of what is still unknown).  A group that passes is cleared at
 * once; a group that fails is split again until one needed feature is
 * pinned, and that feature's prerequisites become needed without a trial of
 * their own.  Where to cut is chosen for the fewest trials expected, under
 * a prior on how many features a workload needs (few: usually none or one)
 * that what the search has seen updates.  With n candidates of which k are
 * needed it takes about log2 C(n,k) + k trials.  Told that hiding some
 * set fails (search_given_fail: the workload broke on a host without it),
 * the search starts there and does not ask what it was told.
 *
 * The search is a state machine with no randomness: the same answers give
 * the same questions, which is what lets a journal replay a run.
 */
#ifndef HETMIG_SEARCH_H
#define HETMIG_SEARCH_H

#include <stdbool.h>

#include "feat.h"

enum verdict { V_PASS = 0, V_FAIL = 1, V_UNKNOWN = 125 };

/* Evidence for one feature the search found needed. */
struct evidence {
	int fail;	/* trial id that failed with it hidden, or -1 */
	int pass;	/* trial id that passed with everything before it hidden
			   (its dependents included), or -1 */
	int via;	/* needed as a prerequisite of this feature, or -1 */
};

struct search {
	struct fset cand;	/* features the search may hide */
	struct fset cleared;	/* candidates shown not needed */
	struct fset needed;	/* candidates shown needed */
	int order[HM_NR_FEATURES];	/* unknown candidates, post-order */
	int nr_unknown;
	int nr_cand;
	struct evidence ev[HM_NR_FEATURES];

	/* The question in flight. */
	enum { S_BASELINE, S_GROUP, S_BISECT, S_DONE, S_UNMASKED_FAILS } state;
	int group;		/* size of the group under test (a prefix) */
	int hi;			/* bisecting: prefix(hi) fails */
	int probe;		/* the prefix length asked for */
	int hi_trial;		/* trial id that showed prefix(hi) fails */
	int last_pass;		/* trial id of the latest passing trial */
	int given;		/* search_given_fail: prefix(given) would fail,
				   until the first question takes it */

	/* What the odds of needed features still unknown are built on. */
	int found;		/* needed features pinned by bisection */
	int resolved;		/* candidates settled by a trial */
	int trials;		/* answers taken */
};

/*
 * search_init: start a search over CAND, the features that may be hidden.
 * Everything outside CAND is never hidden, so the caller keeps CAND
 * closed under dependents (hiding a candidate must not hide a feature that
 * is not one).  The first question is the empty mask (nothing hidden).
 */
void search_init(struct search *s, const struct fset *cand);

/*
 * search_given_fail: take it as shown, without a trial, that hiding HIDE
 * fails: the workload is known to fail on a guest without these features
 * (featmin -f), so one of them is needed.  HIDE is taken within the
 * candidates, closed under dependents, and searched first.  Call it after
 * search_init, before the first answer; an empty HIDE changes nothing.
 * Returns how many candidates that is.  A feature pinned on this word
 * alone has no failing trial in its evidence.
 */
int search_given_fail(struct search *s, const struct fset *hide);

/*
 * search_next: the next question.  Returns 1 and fills *hide_r with the
 * features to hide (closed under dependents), or 0 when the search is over
 * (see search_failed_unmasked and search_needed).
 */
int search_next(struct search *s, struct fset *hide_r);

/*
 * search_answer: the verdict of the question search_next asked (PASS is
 * true when the workload worked); ID names the trial in the evidence.
 */
void search_answer(struct search *s, bool pass, int id);

/* True when the search stopped because nothing hidden already failed. */
bool search_failed_unmasked(const struct search *s);

/* Candidates still undecided. */
int search_unknown(const struct search *s);

/* Candidates found needed so far (closed under prerequisites). */
const struct fset *search_needed(const struct search *s);

/*
 * search_final_mask: what a run ends with: every candidate not found
 * needed (valid once search_next has returned 0).
 */
void search_final_mask(const struct search *s, struct fset *hide_r);

/*
 * search_split: the question at the root of an optimal alphabetic tree
 * over K >= 2 outcomes in order, weighted W: the p, 1 <= p < K, that
 * splits them into [0, p) (the trial fails) and [p, K) (it passes) with
 * the least expected number of trials to single one out.  Each question
 * of the search is this, over where the first needed candidate lies.
 */
int search_split(const double *w, int k);

/* A rough number of trials still to come, for progress lines. */
int search_estimate(const struct search *s);

/*
 * search_default_fixed: the features a guest cannot run without at all,
 * kept fixed unless the caller says otherwise: the x86-64 psABI baseline
 * (fpu cmov cx8 fxsr mmx sse sse2 syscall), what a 64-bit Linux kernel
 * refuses to boot without (pae pse msr pge lm) and its clock and interrupt
 * controller (tsc apic), closed under prerequisites.
 */
void search_default_fixed(struct fset *r);

/*
 * search_unmaskable: features a cpuid= mask cannot usefully hide: those
 * never compared (cmp_not_compared: bits the guest's OS sets, osxsave and
 * ospke; bits Xen sets itself, hypervisor, htt, cmp-legacy), and features
 * Xen never gives any guest (no A/S/H attribute in cpufeatureset.h).
 */
void search_unmaskable(struct fset *r);

/*
 * search_candidates: the candidates for a guest that sees POLICY: its
 * maskable features minus FIXED closed under prerequisites, minus HIDDEN
 * (features every trial hides anyway) closed under dependents.
 */
void search_candidates(const struct fset *policy, const struct fset *fixed,
		       const struct fset *hidden, struct fset *cand_r);

/*
 * Driving a search with a trial function, for featmin and the simulations.
 */
struct trial_ops {
	/*
	 * run: one attempt of a trial hiding HIDE; NR is the attempt's
	 * number (1, 2, ... over the whole run).  Returns V_PASS, V_FAIL or
	 * V_UNKNOWN; *id_r gets the id the evidence should name.
	 */
	enum verdict (*run)(void *ctx, const struct fset *hide, int nr,
			    int *id_r);
	/*
	 * known (may be NULL): true when the verdict for HIDE is already known
	 * (a journal); fills *pass_r and *id_r.
	 */
	bool (*known)(void *ctx, const struct fset *hide, bool *pass_r,
		      int *id_r);
	/* progress (may be NULL): called after each attempt that ran. */
	void (*progress)(void *ctx, const struct search *s, int nr,
			 enum verdict v);
};

struct drive_stats {
	int attempts;		/* trials run, retries included */
	int unknown;		/* attempts that answered V_UNKNOWN */
	int cached;		/* questions answered by ops->known */
	int confirmed;		/* repeats of a failing baseline */
};

/*
 * search_trial: run the trial hiding HIDE, retrying a V_UNKNOWN answer up
 * to RETRIES times; V_UNKNOWN when every attempt answered so.  S is only
 * passed on to ops->progress.
 */
enum verdict search_trial(const struct trial_ops *ops, void *ctx,
			  const struct search *s, const struct fset *hide,
			  int retries, struct drive_stats *st, int *id_r);

enum drive_result { D_DONE, D_UNMASKED_FAILS, D_GAVE_UP };

/*
 * search_drive: ask S's questions until it is over.  A V_UNKNOWN answer is
 * retried up to RETRIES times; one more gives D_GAVE_UP with S left at the
 * unanswered question.  A failing baseline (nothing hidden) is asked again
 * up to RETRIES times, and one pass answers it; a journal's failing
 * baseline is asked again the same way.  ST (zeroed by the caller) counts
 * what happened.
 */
enum drive_result search_drive(struct search *s, const struct trial_ops *ops,
			       void *ctx, int retries, struct drive_stats *st);

#endif
