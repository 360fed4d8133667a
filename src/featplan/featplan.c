/*
 * featplan: the migration plan, decided once and in C.
 *
 *   featplan [-j | -o human|json] [-l common|needed] -v VM -a A -b B
 *	      [-n NEEDED] [-s SCAN] [-c CPUID]
 *
 * From the policy a running VM sees, host A's and host B's default
 * policies for its type, and what the VM needs (featmin's answer, a
 * scan's, or else everything it sees): whether B has it, what B lacks
 * and whether hiding that is enforced, the cpuid= line for B (checked by
 * libxl) with the items of the VM's current line it must keep, what the
 * line hides and why, whether a live migration must restart the VM
 * first, and the warnings.  migrate-prep acts on the plan's fields.  The
 * rules are featcmp's (compare.c): the line is `featcmp -x A B KEEP`'s,
 * the missing features `featcmp -d`'s.  See featplan(1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "compare.h"
#include "enforce.h"
#include "policy.h"
#include "util.h"
#include "xlcpuid.h"
#include "xlparse.h"

enum input_id { IN_VM, IN_A, IN_B, IN_NEEDED, IN_SCAN, NR_INPUTS };

/* The inputs' names in the plan ("inputs", and a needed feature's "from"). */
static const char *const input_names[NR_INPUTS] = {
	[IN_VM] = "vm", [IN_A] = "a", [IN_B] = "b", [IN_NEEDED] = "needed",
	[IN_SCAN] = "scan",
};

/* One input policy. */
struct input {
	const char *path;	/* NULL when not given */
	struct policy p;
	struct fset fs;		/* the features compared (cmp_features) */
	json_t *evidence;	/* owned: its "evidence" object, or NULL */
};

enum level { L_COMMON, L_NEEDED };

static const char *const level_names[] = {
	[L_COMMON] = "common", [L_NEEDED] = "needed",
};

/* Why the line hides a feature. */
enum why { W_NONE, W_B_LACKS, W_LEVEL, W_DEPENDENT, W_CURRENT };

static const char *const why_names[] = {
	[W_NONE] = "", [W_B_LACKS] = "host B lacks it",
	[W_LEVEL] = "beyond the level", [W_DEPENDENT] = "dependent of",
	[W_CURRENT] = "from the current line",
};

/* Where a needed feature comes from: an input, or a prerequisite. */
#define FROM_NONE	(-1)
#define FROM_PREREQ	NR_INPUTS

struct plan {
	enum level level;
	struct fset want;		/* needed: closed, compared */
	int from[HM_NR_FEATURES];	/* input_id, FROM_PREREQ or FROM_NONE */
	int of[HM_NR_FEATURES];		/* the feature that needs a prereq */
	struct fset missing;		/* what B lacks of want */
	struct fset keep;		/* what the line keeps */
	struct fset hidden;		/* what it hides, current line's too */
	enum why why[HM_NR_FEATURES];
	int hidden_of[HM_NR_FEATURES];	/* W_DEPENDENT: the one it needs */
	struct xl_item *current;	/* owned: the current line's settings */
	size_t nr_current;
	struct xl_item *carried;	/* owned: those the line keeps */
	size_t nr_carried;
	char *line;			/* owned; NULL when not compatible */
	struct fset live;		/* what the VM sees now that B lacks */
	json_t *warnings;		/* owned: an array of strings */
};

#define OPTIONS "a:b:C:c:hjl:n:o:s:v:"
/* The largest xl config read for -C. */
#define MAX_CONFIG (1u << 20)

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
	fprintf(stderr, "usage: featplan [-j | -o human|json] "
	    "[-l common|needed] -v vm -a a -b b [-n needed] [-s scan] "
	    "[-c cpuid | -C config]\n");
	exit(2);
}

/*
 * config_cpuid: the cpuid= value of the xl config at PATH as libxlutil
 * reads it, as one text featplan -c would take: a string as it is, a list
 * as "[ \"item\", ... ]".  NULL when the config has no cpuid=.  So a
 * script never has to take a cpuid= line apart.  The caller frees it.
 */
static char *config_cpuid(const char *path)
{
	char *buf, *why = NULL, *value = NULL, line[512];
	XLU_Config *cfg;
	XLU_ConfigList *list;
	const char *v;
	size_t len, size;
	int i, n;

	buf = read_all(path, MAX_CONFIG, &len);
	if (buf == NULL)
		die("cannot open '%s': %s", path, errno == EFBIG ?
		    "too large" : strerror(errno));
	cfg = xlparse_text(buf, len, path, &why);
	free(buf);
	if (cfg == NULL) {
		xlparse_complaint(why, path, line, sizeof(line));
		free(why);
		die("'%s' does not parse with libxlutil: %s", path, line);
	}
	if (xlu_cfg_get_string(cfg, "cpuid", &v, 1) == 0) {
		value = estrdup(v);
	} else if (xlu_cfg_get_list(cfg, "cpuid", &list, &n, 1) == 0) {
		size = 3;
		for (i = 0; i < n; i++)
			size += strlen(xlu_cfg_get_listitem(list, i)) + 5;
		value = ealloc(size);
		strcpy(value, "[");
		for (i = 0; i < n; i++) {
			strcat(value, i ? ", \"" : " \"");
			strcat(value, xlu_cfg_get_listitem(list, i));
			strcat(value, "\"");
		}
		strcat(value, " ]");
	}
	xlu_cfg_destroy(cfg);
	return value;
}

static void jset(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) < 0)
		die("out of memory");
}

static void jappend(json_t *a, json_t *v)
{
	if (v == NULL || json_array_append_new(a, v) < 0)
		die("out of memory");
}

static void warn_plan(struct plan *pl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* warn_plan: add one warning to the plan (its JSON and its text). */
static void warn_plan(struct plan *pl, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	jappend(pl->warnings, json_string(buf));
}

/*
 * load: read IN->path into IN->p and derive the featureset compared; a
 * JSON input's "evidence" object (featmin's, per feature) is kept.  A
 * dump whose CPUs differ is a warning of the plan.
 */
static void load(struct input *in, struct plan *pl)
{
	struct perr err;
	char *differ = NULL, *text = NULL;
	size_t len = 0;
	json_t *root, *ev;

	policy_init(&in->p);
	if (policy_read(&in->p, in->path, 0, &differ, &text, &len, &err) < 0)
		die("%s", err.msg);
	if (differ != NULL) {
		warn_plan(pl, "%s: cpus differ: %s; using cpu 0", in->path,
		    differ);
		free(differ);
	}
	cmp_features(&in->p, &in->fs);
	if (policy_detect(text, len) == FMT_JSON) {
		/* It parsed as a policy: it is a JSON object. */
		root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
		ev = json_object_get(root, "evidence");
		if (json_is_object(ev))
			in->evidence = json_incref(ev);
		json_decref(root);
	}
	free(text);
}

/*
 * attribute: for each feature of CLOSED that is not a seed and has no
 * OF_R yet (-1), the first feature of SEEDS (table order) whose CLOSURE
 * holds it: the one it is a prerequisite or a dependent of.
 */
static void attribute(const struct fset *seeds, const struct fset *closed,
		      void (*closure)(struct fset *), int *of_r)
{
	struct fset c;
	int g, f;

	for (g = 0; g < HM_NR_FEATURES; g++) {
		if (!fs_has(seeds, g))
			continue;
		memset(&c, 0, sizeof(c));
		fs_set(&c, g);
		closure(&c);
		for (f = 0; f < HM_NR_FEATURES; f++)
			if (f != g && fs_has(&c, f) && fs_has(closed, f) &&
			    !fs_has(seeds, f) && of_r[f] < 0)
				of_r[f] = g;
	}
}

/*
 * decide_needed: the features needed, each with where it comes from:
 * NEEDED's (or, without it, all the VM sees), SCAN's, then the
 * prerequisites of those; less those never compared.  Then what B lacks
 * of them, as `featcmp NEEDED B` finds it, and what the VM sees now that
 * B lacks (the live check).
 */
static void decide_needed(struct plan *pl, const struct input *in)
{
	enum input_id base = in[IN_NEEDED].path ? IN_NEEDED : IN_VM;
	struct fset u = in[base].fs, want;
	int f;

	for (f = 0; f < HM_NR_FEATURES; f++) {
		pl->from[f] = fs_has(&in[base].fs, f) ? (int)base :
		    in[IN_SCAN].path && fs_has(&in[IN_SCAN].fs, f) ? IN_SCAN :
		    FROM_NONE;
		pl->of[f] = -1;
	}
	if (in[IN_SCAN].path != NULL)
		fs_or(&u, &u, &in[IN_SCAN].fs);
	cmp_missing(&u, &in[IN_B].fs, &pl->want, &pl->missing);
	attribute(&u, &pl->want, fs_close_needed, pl->of);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(&pl->want, f) && pl->from[f] == FROM_NONE)
			pl->from[f] = FROM_PREREQ;
	cmp_missing(&in[IN_VM].fs, &in[IN_B].fs, &want, &pl->live);
}

/*
 * carry: the settings of the VM's current line that the new line, which
 * hides HIDE, must keep: every one but those of a feature HIDE hides.  A
 * setting that hides such a feature is there already; one that shows it
 * would undo the line (B lacks it, or the level leaves it out), so it is
 * dropped with a warning.  *HIDES_R gets the features the kept settings
 * hide, applied in order as xl applies them.
 */
static void carry(struct plan *pl, const struct fset *hide,
		  struct fset *hides_r)
{
	size_t i;
	const struct xl_item *it;

	memset(hides_r, 0, sizeof(*hides_r));
	pl->carried = ealloc(sizeof(*pl->carried) *
	    (pl->nr_current ? pl->nr_current : 1));
	for (i = 0; i < pl->nr_current; i++) {
		it = &pl->current[i];
		if (it->feature >= 0 && fs_has(hide, it->feature)) {
			if (it->value != '0')
				warn_plan(pl, "'%s' of the current line is "
				    "dropped: the line hides '%s'", it->text,
				    hm_features[it->feature].name);
			continue;
		}
		pl->carried[pl->nr_carried++] = *it;
		if (it->feature < 0)
			continue;
		if (it->value == '0')
			fs_set(hides_r, it->feature);
		else
			fs_clear(hides_r, it->feature);
	}
}

/*
 * why_hidden: why each feature of HIDE (what cmp_hide chose from BASES
 * for KEEP) is hidden, and of CURRENT (what the carried settings hide):
 * B lacks it, the level leaves it out, it depends on one of those, or the
 * current line hides it (or one it depends on).  Of CURRENT, only the
 * features BASES has are listed: the others no host shows.
 */
static void why_hidden(struct plan *pl, const struct input *in,
		       const struct fset *bases, const struct fset *hide,
		       const struct fset *current)
{
	struct fset seed, no, cur;
	int f;

	cmp_not_compared(&no);
	fs_andnot(&seed, bases, &pl->keep);
	fs_andnot(&seed, &seed, &no);
	for (f = 0; f < HM_NR_FEATURES; f++)
		pl->hidden_of[f] = -1;
	attribute(&seed, hide, fs_close_hidden, pl->hidden_of);
	cur = *current;
	fs_close_hidden(&cur);
	fs_andnot(&cur, &cur, hide);
	fs_and(&cur, &cur, bases);
	attribute(current, &cur, fs_close_hidden, pl->hidden_of);
	fs_or(&pl->hidden, hide, &cur);
	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(&pl->hidden, f))
			pl->why[f] = W_NONE;
		else if (fs_has(&seed, f))
			pl->why[f] = fs_has(&in[IN_B].fs, f) ? W_LEVEL :
			    W_B_LACKS;
		else if (fs_has(current, f) && !fs_has(hide, f))
			pl->why[f] = W_CURRENT;
		else
			pl->why[f] = W_DEPENDENT;
	}
}

/* "dependent of avx", "host B lacks it", ... for feature F into BUF. */
static const char *why_text(const struct plan *pl, int f, char *buf,
			    size_t n)
{
	if (pl->why[f] == W_DEPENDENT && pl->hidden_of[f] >= 0)
		snprintf(buf, n, "%s %s", why_names[W_DEPENDENT],
		    hm_features[pl->hidden_of[f]].name);
	else
		snprintf(buf, n, "%s", why_names[pl->why[f]]);
	return buf;
}

/*
 * decide_line: the cpuid= line for B, as `featcmp -x A B KEEP` renders
 * it, KEEP being what the VM sees that B has (level common) or the
 * needed set (level needed), with the current line's settings that it
 * must keep after it.  Then the warnings about what it hides: a needed
 * feature, or one the level keeps (a dependent of one hidden).
 */
static void decide_line(struct plan *pl, const struct input *in)
{
	struct fset bases, hide, current, lost;
	struct perr err;
	char why[64];
	int f;

	if (pl->level == L_COMMON)
		fs_and(&pl->keep, &in[IN_VM].fs, &in[IN_B].fs);
	else
		pl->keep = pl->want;
	fs_or(&bases, &in[IN_A].fs, &in[IN_B].fs);
	cmp_hide(&bases, &pl->keep, &hide);
	carry(pl, &hide, &current);
	why_hidden(pl, in, &bases, &hide, &current);
	pl->line = xl_cpuid_render_items(&hide, pl->carried, pl->nr_carried,
	    false, &err);
	if (pl->line == NULL)
		die("%s", err.msg);
	fs_and(&lost, &pl->hidden, &pl->want);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(&lost, f))
			warn_plan(pl, "'%s' is needed (%s) but the line hides "
			    "it: %s", hm_features[f].name,
			    pl->from[f] == FROM_PREREQ ? "a prerequisite" :
			    input_names[pl->from[f]], why_text(pl, f, why,
			    sizeof(why)));
	fs_and(&lost, &pl->hidden, &pl->keep);
	fs_andnot(&lost, &lost, &pl->want);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(&lost, f))
			warn_plan(pl, "'%s' is hidden though the %s level "
			    "keeps it: %s", hm_features[f].name,
			    level_names[pl->level], why_text(pl, f, why,
			    sizeof(why)));
}

static const char *vendor_of(const struct input *in)
{
	return in->p.vendor[0] ? in->p.vendor : "unknown";
}

/* The vendors that differ where a plan would mix CPUs of two makers. */
static void warn_vendors(struct plan *pl, const struct input *in)
{
	const struct input *vm = &in[IN_VM], *b = &in[IN_B],
	    *need = &in[IN_NEEDED];

	if (vm->p.vendor[0] && b->p.vendor[0] &&
	    strcmp(vm->p.vendor, b->p.vendor) != 0)
		warn_plan(pl, "vendors differ: the VM's policy is %s, host "
		    "B's %s", vendor_of(vm), vendor_of(b));
	if (need->path && need->p.vendor[0] && vm->p.vendor[0] &&
	    strcmp(need->p.vendor, vm->p.vendor) != 0)
		warn_plan(pl, "the needed set was found on a %s CPU, the VM's "
		    "policy is %s", vendor_of(need), vendor_of(vm));
}

/* --- output ---------------------------------------------------------- */

static const char *from_name(int from)
{
	return from == FROM_PREREQ ? "prerequisite" : input_names[from];
}

static json_t *j_needed(const struct plan *pl, const struct input *in)
{
	json_t *a = json_array(), *o, *ev;
	int f;

	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(&pl->want, f))
			continue;
		o = json_pack("{s:s, s:s}", "name", hm_features[f].name,
		    "from", from_name(pl->from[f]));
		if (o == NULL)
			die("out of memory");
		if (pl->from[f] == FROM_PREREQ && pl->of[f] >= 0)
			jset(o, "of", json_string(hm_features[pl->of[f]].name));
		if (pl->from[f] != FROM_PREREQ && in[pl->from[f]].evidence &&
		    (ev = json_object_get(in[pl->from[f]].evidence,
		    hm_features[f].name)) != NULL)
			jset(o, "evidence", json_incref(ev));
		jappend(a, o);
	}
	return a;
}

static json_t *j_missing(const struct plan *pl)
{
	json_t *a = json_array(), *o;
	int f;

	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(&pl->missing, f))
			continue;
		o = cmp_feature_json(f, &pl->want, &pl->missing);
		jset(o, "from", json_string(from_name(pl->from[f])));
		jappend(a, o);
	}
	return a;
}

static json_t *j_hidden(const struct plan *pl)
{
	json_t *a = json_array(), *o;
	char why[64];
	int f;

	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(&pl->hidden, f))
			continue;
		o = json_pack("{s:s, s:s}", "name", hm_features[f].name,
		    "why", why_text(pl, f, why, sizeof(why)));
		if (o == NULL)
			die("out of memory");
		if (pl->why[f] == W_DEPENDENT && pl->hidden_of[f] >= 0)
			jset(o, "of", json_string(
			    hm_features[pl->hidden_of[f]].name));
		cmp_enforcement_json(o, f, &pl->hidden);
		jappend(a, o);
	}
	return a;
}

static json_t *j_cpuid(const struct plan *pl)
{
	json_t *carried = json_array();
	size_t i;

	if (pl->line == NULL) {
		json_decref(carried);
		return json_null();
	}
	for (i = 0; i < pl->nr_carried; i++)
		jappend(carried, json_string(pl->carried[i].text));
	return json_pack("{s:s, s:s, s:o}", "value", pl->line, "form",
	    pl->line[0] == '[' ? "legacy" : "libxl", "carried", carried);
}

static json_t *j_input(const struct input *in)
{
	json_t *o;

	if (in->path == NULL)
		return json_null();
	o = json_pack("{s:s, s:s?, s:{s:s, s:s?}}", "path", in->path,
	    "vendor", in->p.vendor[0] ? in->p.vendor : NULL, "source",
	    "kind", in->p.source_kind ? in->p.source_kind : "unknown",
	    "name", in->p.source_name);
	if (o == NULL)
		die("out of memory");
	return o;
}

/* why_compatible: the plan's "why" (malloc'd, the caller frees it). */
static char *why_compatible(const struct plan *pl)
{
	struct sbuf b = { NULL, 0, 0 };
	char head[128];
	const char *sep = ": ";
	int f;

	if (fs_empty(&pl->missing)) {
		snprintf(head, sizeof(head), "host B has all %d needed "
		    "features", fs_count(&pl->want));
		return estrdup(head);
	}
	snprintf(head, sizeof(head), "host B lacks %d of the %d needed "
	    "features", fs_count(&pl->missing), fs_count(&pl->want));
	sb_add(&b, head);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(&pl->missing, f)) {
			sb_add(&b, sep);
			sb_add(&b, hm_features[f].name);
			sep = ", ";
		}
	return b.s;
}

static void write_json(const struct plan *pl, const struct input *in,
		       const char *cpuid)
{
	json_t *root = json_object(), *inputs = json_object();
	char *why = why_compatible(pl);
	int i;

	if (root == NULL || inputs == NULL)
		die("out of memory");
	jset(root, "format", json_string("hetmig-plan/1"));
	jset(root, "compatible", json_boolean(fs_empty(&pl->missing)));
	jset(root, "why", json_string(why));
	free(why);
	jset(root, "level", json_string(level_names[pl->level]));
	jset(root, "needed", j_needed(pl, in));
	jset(root, "missing", j_missing(pl));
	jset(root, "hidden", j_hidden(pl));
	jset(root, "cpuid", j_cpuid(pl));
	jset(root, "live", json_pack("{s:b, s:o}", "restart_needed",
	    !fs_empty(&pl->live), "features", cmp_names_json(&pl->live)));
	jset(root, "warnings", json_incref(pl->warnings));
	for (i = 0; i < NR_INPUTS; i++)
		jset(inputs, input_names[i], j_input(&in[i]));
	jset(inputs, "cpuid", cpuid ? json_string(cpuid) : json_null());
	jset(root, "inputs", inputs);
	if (json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
	    JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF)
		die("cannot write to stdout: %s", strerror(errno));
	json_decref(root);
}

/* "fma, avx2, bmi2" of S, or "none". */
static void print_names(const struct fset *s)
{
	const char *sep = "";
	int f;

	if (fs_empty(s))
		fputs("none", stdout);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(s, f)) {
			printf("%s%s", sep, hm_features[f].name);
			sep = ", ";
		}
}

static void write_human(const struct plan *pl)
{
	static const char *const plural[NR_INPUTS + 1] = {
		[IN_VM] = "from vm", [IN_NEEDED] = "from needed",
		[IN_SCAN] = "from scan", [FROM_PREREQ] = "prerequisites",
	};
	static const int order[] = { IN_VM, IN_NEEDED, IN_SCAN, FROM_PREREQ };
	char why[64], *because = why_compatible(pl);
	const char *sep = ": ";
	size_t i;
	int f, n;

	printf("%s: %s\n", fs_empty(&pl->missing) ? "compatible" :
	    "not compatible", because);
	free(because);
	printf("needed: %d features", fs_count(&pl->want));
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		for (n = 0, f = 0; f < HM_NR_FEATURES; f++)
			n += fs_has(&pl->want, f) && pl->from[f] == order[i];
		if (n > 0) {
			printf("%s%d %s", sep, n, plural[order[i]]);
			sep = ", ";
		}
	}
	putchar('\n');
	if (!fs_empty(&pl->missing)) {
		printf("missing on host B:\n");
		for (f = 0; f < HM_NR_FEATURES; f++)
			if (fs_has(&pl->missing, f))
				printf("  %-20s %-10s from %s\n",
				    hm_features[f].name,
				    enf_enforced(f, &pl->missing) ?
				    "enforced" : "cpuid-only",
				    from_name(pl->from[f]));
	}
	if (pl->line != NULL) {
		printf("cpuid= line (%s level, %s form): %s\n",
		    level_names[pl->level], pl->line[0] == '[' ? "legacy" :
		    "libxl", pl->line);
		printf("hidden:%s\n", fs_empty(&pl->hidden) ? " none" : "");
		for (f = 0; f < HM_NR_FEATURES; f++)
			if (fs_has(&pl->hidden, f))
				printf("  %-20s %-10s %s\n",
				    hm_features[f].name,
				    enf_enforced(f, &pl->hidden) ?
				    "enforced" : "cpuid-only",
				    why_text(pl, f, why, sizeof(why)));
		if (pl->nr_carried > 0) {
			printf("carried from the current line:");
			for (i = 0; i < pl->nr_carried; i++)
				printf(" %s", pl->carried[i].text);
			putchar('\n');
		}
	}
	printf("live migration: ");
	if (fs_empty(&pl->live)) {
		printf("no restart needed\n");
	} else {
		printf("restart needed first: the VM sees ");
		print_names(&pl->live);
		printf(", which host B lacks\n");
	}
	for (i = 0; i < json_array_size(pl->warnings); i++)
		printf("warning: %s\n",
		    json_string_value(json_array_get(pl->warnings, i)));
}

int main(int argc, char *argv[])
{
	struct input in[NR_INPUTS];
	struct plan pl;
	struct perr err;
	const char *cpuid = NULL, *cfgpath = NULL;
	char *fromcfg = NULL;
	bool json = false;
	int c, i, rc;

	progname = "featplan";
	memset(in, 0, sizeof(in));
	memset(&pl, 0, sizeof(pl));
	/* getopt's own complaint would be a second line before ours. */
	opterr = 0;
	while ((c = getopt(argc, argv, OPTIONS)) != -1) {
		switch (c) {
		case 'v':
			in[IN_VM].path = optarg;
			break;
		case 'a':
			in[IN_A].path = optarg;
			break;
		case 'b':
			in[IN_B].path = optarg;
			break;
		case 'n':
			in[IN_NEEDED].path = optarg;
			break;
		case 's':
			in[IN_SCAN].path = optarg;
			break;
		case 'c':
			cpuid = optarg;
			break;
		case 'C':
			cfgpath = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage();
		case 'o':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "human") != 0)
				die("unknown output '%s': expected human or "
				    "json", optarg);
			json = strcmp(optarg, "json") == 0;
			break;
		case 'l':
			if (strcmp(optarg, "common") != 0 &&
			    strcmp(optarg, "needed") != 0)
				die("unknown level '%s': expected common or "
				    "needed", optarg);
			pl.level = strcmp(optarg, "common") == 0 ? L_COMMON :
			    L_NEEDED;
			break;
		default:
			if (optopt != 0 && optopt != ':' &&
			    strchr(OPTIONS, optopt) != NULL)
				die("option '-%c' needs a value", optopt);
			if (optopt <= ' ' || optopt >= 0x7f)
				die("unknown option");
			die("unknown option '-%c'", optopt);
		}
	}
	if (optind != argc || !in[IN_VM].path || !in[IN_A].path ||
	    !in[IN_B].path || (cpuid != NULL && cfgpath != NULL))
		usage();
	if (cfgpath != NULL)
		cpuid = fromcfg = config_cpuid(cfgpath);
	pl.warnings = json_array();
	if (pl.warnings == NULL)
		die("out of memory");
	if (cpuid != NULL && xl_cpuid_items(cpuid, &pl.current,
	    &pl.nr_current, &err) < 0)
		die("%s", err.msg);
	for (i = 0; i < NR_INPUTS; i++)
		if (in[i].path != NULL)
			load(&in[i], &pl);
	warn_vendors(&pl, in);
	decide_needed(&pl, in);
	if (fs_empty(&pl.missing))
		decide_line(&pl, in);
	if (json)
		write_json(&pl, in, cpuid);
	else
		write_human(&pl);
	rc = fs_empty(&pl.missing) ? 0 : 1;
	for (i = 0; i < NR_INPUTS; i++) {
		policy_release(&in[i].p);
		json_decref(in[i].evidence);
	}
	free(fromcfg);
	free(pl.current);
	free(pl.carried);
	free(pl.line);
	json_decref(pl.warnings);
	fshut(stdout, "<stdout>");
	return rc;
}
