/*
 * featcmp: set algebra on CPUID policies.
 *
 *   featcmp NEED HAVE		is every feature of NEED in HAVE? (exit 0/1)
 *   featcmp -i P1 P2 ...	the intersection: the pool level, as a policy
 *   featcmp -d A B		the features of A that B lacks
 *   featcmp -x BASE... KEEP	the cpuid= value that, on a host whose policy
 *				is any BASE, shows a domain only KEEP's
 *				features
 *   featcmp -e VALUE [P...]	what the cpuid= VALUE hides (from a domain
 *				on a host whose policy is any P), and which of
 *				those features a program can still use
 *
 * Some bits are not compared as features (see featcmp(1)): OS state
 * (osxsave, ospke), the hypervisor bit, and SYSCALL on Intel CPUs, which
 * report it only in 64-bit mode.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "compare.h"
#include "enforce.h"
#include "jtext.h"
#include "policy.h"
#include "util.h"
#include "xlcpuid.h"

enum mode { M_COMPARE, M_INTERSECT, M_DIFF, M_XL, M_ENFORCE };
enum out { O_HUMAN, O_JSON, O_NAMES, O_TABLE, O_RAW, O_FEATURESET };

/* One input: its policy and the featureset compared (cmp_features). */
struct input {
	const char *path;
	struct policy p;
	struct fset fs;
};

static const struct {
	const char *name;
	enum out out;
} outputs[] = {
	{ "human", O_HUMAN },
	{ "json", O_JSON },
	{ "names", O_NAMES },
	{ "table", O_TABLE },
	{ "raw", O_RAW },
	{ "featureset", O_FEATURESET },
};

/* The features never compared nor hidden (cmp_not_compared). */
static struct fset ignored;

static void usage(void)
{
	fprintf(stderr,
	    "usage: featcmp [-j | -o human|json|names] need have\n"
	    "       featcmp -i [-j | -o names|table|json|raw|featureset] "
	    "policy ...\n"
	    "       featcmp -d [-j | -o human|json|names] a b\n"
	    "       featcmp -x [-j] base... keep\n"
	    "       featcmp -e [-j | -o human|json] value [policy ...]\n");
	exit(2);
}

/*
 * load: read IN->path in any policy format into IN->p, and derive the
 * featureset compared (cmp_features).
 */
static void load(struct input *in)
{
	struct perr err;
	char *differ = NULL;

	policy_init(&in->p);
	if (policy_read(&in->p, in->path, 0, &differ, NULL, NULL, &err) < 0)
		die("%s", err.msg);
	if (differ != NULL) {
		warning("%s: cpus differ: %s; using cpu 0", in->path, differ);
		free(differ);
	}
	cmp_features(&in->p, &in->fs);
}

static void release(struct input *in, int n)
{
	int i;

	for (i = 0; i < n; i++)
		policy_release(&in[i].p);
}

/* "0x00000007,0 ebx bit 5" or "msr 0x10a bit 3" into BUF. */
static const char *where(int f, char *buf, size_t n)
{
	const struct hm_word *w = &hm_words[feat_word(f)];

	if (w->src == HM_SRC_MSR)
		snprintf(buf, n, "msr 0x%x bit %u", w->leaf,
		    feat_bit(f) + (w->reg == HM_EDX ? 32 : 0));
	else if (w->anysub)
		snprintf(buf, n, "leaf 0x%08x %s bit %u", w->leaf,
		    reg_name(w->reg), feat_bit(f));
	else
		snprintf(buf, n, "leaf 0x%08x,%u %s bit %u", w->leaf,
		    w->subleaf, reg_name(w->reg), feat_bit(f));
	return buf;
}

static void jdump(json_t *root)
{
	if (root == NULL)
		die("out of memory");
	if (json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
	    JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF)
		die("cannot write to stdout: %s", strerror(errno));
	json_decref(root);
}


/*
 * The human listing of MISSING: one feature a line, where, needed by.
 * Unless HIDDEN is NULL, a column after where says whether a program can
 * still use the feature in a guest from which HIDDEN is hidden.
 */
static void print_missing(const struct fset *missing, const struct fset *need,
			  const struct fset *hidden)
{
	struct fset deps;
	char buf[64];
	int f, g;
	const char *sep;

	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(missing, f))
			continue;
		cmp_dependents(f, need, &deps);
		if (hidden != NULL) {
			printf("%-20s %-28s %*s", hm_features[f].name,
			    where(f, buf, sizeof(buf)), fs_empty(&deps) ? 0 :
			    -10, enf_enforced(f, hidden) ? "enforced" :
			    "cpuid-only");
			if (fs_empty(&deps)) {
				putchar('\n');
				continue;
			}
		} else if (fs_empty(&deps)) {
			printf("%-20s %s\n", hm_features[f].name,
			    where(f, buf, sizeof(buf)));
			continue;
		} else {
			printf("%-20s %-28s", hm_features[f].name,
			    where(f, buf, sizeof(buf)));
		}
		sep = " needed by ";
		for (g = 0; g < HM_NR_FEATURES; g++)
			if (fs_has(&deps, g)) {
				printf("%s%s", sep, hm_features[g].name);
				sep = ", ";
			}
		putchar('\n');
	}
}

static const char *vendor_of(const struct input *in)
{
	return in->p.vendor[0] ? in->p.vendor : "unknown vendor";
}

/*
 * compare: exit status 0 when every compared feature of NEED (with its
 * prerequisites) is in HAVE, 1 when not.
 */
static int compare(struct input *need, struct input *have, enum out out)
{
	struct fset want, missing;
	bool vdiff;

	cmp_missing(&need->fs, &have->fs, &want, &missing);
	vdiff = need->p.vendor[0] && have->p.vendor[0] &&
	    strcmp(need->p.vendor, have->p.vendor) != 0;

	if (out == O_JSON) {
		json_t *root, *m = json_array();
		int f;

		for (f = 0; f < HM_NR_FEATURES; f++)
			if (fs_has(&missing, f))
				json_array_append_new(m,
				    cmp_feature_json(f, &want, NULL));
		root = json_pack("{s:b, s:{s:o, s:s}, s:{s:o, s:s}, s:b, "
		    "s:o, s:o}",
		    "compatible", fs_empty(&missing),
		    "need", "path", json_text(need->path), "vendor",
		    need->p.vendor,
		    "have", "path", json_text(have->path), "vendor",
		    have->p.vendor,
		    "vendors_differ", vdiff,
		    "missing", m, "not_compared", cmp_names_json(&ignored));
		jdump(root);
	} else if (out == O_NAMES) {
		fset_write_names(&missing, stdout);
	} else {
		if (vdiff)
			printf("vendors differ: %s has %s, %s has %s\n",
			    need->path, vendor_of(need), have->path,
			    vendor_of(have));
		if (fs_empty(&missing))
			printf("%s has every feature of %s (%d compared)\n",
			    have->path, need->path, fs_count(&want));
		else
			printf("%s lacks %d of the %d features of %s:\n",
			    have->path, fs_count(&missing), fs_count(&want),
			    need->path);
		print_missing(&missing, &want, NULL);
	}
	return fs_empty(&missing) ? 0 : 1;
}

/*
 * difference: the compared features of A that B lacks; no closure.  Each
 * is marked with what hiding them all from a guest enforces: a program
 * that uses a "cpuid-only" one without asking CPUID still runs where it
 * is hidden, and fails on B.
 */
static int difference(struct input *a, struct input *b, enum out out)
{
	struct fset d;
	json_t *arr;
	int f;

	cmp_difference(&a->fs, &b->fs, &d);
	if (out == O_JSON) {
		arr = json_array();
		for (f = 0; f < HM_NR_FEATURES; f++)
			if (fs_has(&d, f))
				json_array_append_new(arr,
				    cmp_feature_json(f, &a->fs, &d));
		jdump(arr);
	} else if (out == O_NAMES) {
		fset_write_names(&d, stdout);
	} else {
		print_missing(&d, &a->fs, &d);
	}
	return 0;
}

/*
 * enforcement: the features the cpuid= VALUE hides from a domain (with
 * their dependents, as Xen hides them), only those some of the N policies
 * IN have when N > 0, and for each whether a program can still use it.
 */
static int enforcement(const char *value, struct input *in, int n,
		       enum out out)
{
	struct fset named, hidden, enforced, with, all = { { 0 } };
	struct perr err;
	json_t *arr, *o;
	char buf[256];
	size_t len;
	int f, g, i;

	if (xl_cpuid_parse(value, &named, &err) < 0)
		die("%s", err.msg);
	enf_split(&named, &enforced, &hidden);
	for (i = 0; i < n; i++)
		fs_or(&all, &all, &in[i].fs);
	if (n > 0)
		fs_and(&hidden, &hidden, &all);
	fs_andnot(&hidden, &hidden, &ignored);
	if (out == O_JSON) {
		arr = json_array();
		for (f = 0; f < HM_NR_FEATURES; f++) {
			if (!fs_has(&hidden, f))
				continue;
			o = json_pack("{s:s}", "name", hm_features[f].name);
			if (o == NULL)
				die("out of memory");
			cmp_enforcement_json(o, f, &named);
			json_array_append_new(arr, o);
		}
		jdump(json_pack("{s:s, s:o}", "cpuid", value, "hidden", arr));
		return 0;
	}
	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(&hidden, f))
			continue;
		if (fs_has(&enforced, f)) {
			printf("%-20s enforced\n", hm_features[f].name);
			continue;
		}
		if (enf_class(f, &with) != ENF_CONDITIONAL) {
			printf("%-20s cpuid-only\n", hm_features[f].name);
			continue;
		}
		len = 0;
		buf[0] = '\0';
		for (g = 0; g < HM_NR_FEATURES && len < sizeof(buf); g++)
			if (fs_has(&with, g))
				len += (size_t)snprintf(buf + len,
				    sizeof(buf) - len, "%s%s", len ? ", " : "",
				    hm_features[g].name);
		printf("%-20s cpuid-only (enforced if %s %s hidden too)\n",
		    hm_features[f].name, buf, fs_count(&with) > 1 ? "are" :
		    "is");
	}
	return 0;
}

/*
 * intersect: the features every input has, written as a policy: the
 * first input's leaves with the common featureset applied.  The vendor is
 * the first input's; a mixed pool is reported on stderr.
 */
static int intersect(struct input *in, int n, enum out out)
{
	struct fset common = in[0].fs;
	int i, rc = 0;

	for (i = 1; i < n; i++) {
		if (in[i].p.vendor[0] && in[0].p.vendor[0] &&
		    strcmp(in[i].p.vendor, in[0].p.vendor) != 0)
			warning("vendors differ: %s has %s, %s has %s",
			    in[0].path, vendor_of(&in[0]), in[i].path,
			    vendor_of(&in[i]));
		fs_and(&common, &common, &in[i].fs);
	}
	policy_apply_featureset(&in[0].p, &common);
	policy_set_source(&in[0].p, "featcmp", "intersection");
	switch (out) {
	case O_HUMAN:
	case O_NAMES:
		rc = policy_write_names(&in[0].p, stdout);
		break;
	case O_TABLE:
		rc = policy_write_table(&in[0].p, stdout);
		break;
	case O_JSON:
		rc = policy_write_json(&in[0].p, stdout);
		break;
	case O_RAW:
		rc = policy_write_raw(&in[0].p, stdout);
		break;
	case O_FEATURESET:
		rc = policy_write_featureset(&in[0].p, stdout);
		break;
	}
	if (rc < 0)
		die("cannot write to stdout: %s", strerror(errno));
	return 0;
}

/*
 * xl_line: the cpuid= value that hides, on a host whose policy is any of
 * the N BASE policies, every feature KEEP lacks, and every feature that
 * depends on one of those (Xen hides them anyway; saying so keeps the line
 * honest).  With several bases the line is the same on every one of those
 * hosts: a config that carries it is safe wherever it is started.
 * Features that are not compared are never hidden.
 */
static int xl_line(struct input *base, int n, struct input *keep,
		   enum out out)
{
	struct fset all = { { 0 } }, hide, lost;
	struct perr err;
	char *line;
	int f, i;

	for (i = 0; i < n; i++)
		fs_or(&all, &all, &base[i].fs);
	cmp_hide(&all, &keep->fs, &hide);
	fs_and(&lost, &hide, &keep->fs);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(&lost, f))
			warning("'%s' hidden too: %s lacks a feature it needs",
			    hm_features[f].name, keep->path);
	line = xl_cpuid_render(&hide, NULL, &err);
	if (line == NULL)
		die("%s", err.msg);
	if (out == O_JSON)
		jdump(json_pack("{s:s, s:s, s:o}", "cpuid", line, "form",
		    line[0] == '[' ? "legacy" : "libxl", "hidden",
		    cmp_names_json(&hide)));
	else
		printf("%s\n", line);
	free(line);
	return 0;
}

int main(int argc, char *argv[])
{
	struct input *in = NULL;
	enum mode mode = M_COMPARE;
	enum out out = O_HUMAN;
	int c, i, n, rc = 2, nmodes = 0;
	size_t k;

	progname = "featcmp";
	while ((c = getopt(argc, argv, "dehijo:x")) != -1) {
		switch (c) {
		case 'd':
			mode = M_DIFF;
			nmodes++;
			break;
		case 'e':
			mode = M_ENFORCE;
			nmodes++;
			break;
		case 'i':
			mode = M_INTERSECT;
			nmodes++;
			break;
		case 'x':
			mode = M_XL;
			nmodes++;
			break;
		case 'j':
			out = O_JSON;
			break;
		case 'o':
			for (k = 0; k < sizeof(outputs) / sizeof(outputs[0]); k++)
				if (strcmp(outputs[k].name, optarg) == 0)
					break;
			if (k == sizeof(outputs) / sizeof(outputs[0]))
				die("unknown output '%s'", optarg);
			out = outputs[k].out;
			break;
		default:
			usage();
		}
	}
	n = argc - optind;
	if (nmodes > 1 || n < 1 || (mode == M_XL && n < 2) ||
	    (mode != M_INTERSECT && mode != M_XL && mode != M_ENFORCE &&
	    n != 2))
		usage();
	if (mode != M_INTERSECT && out != O_HUMAN && out != O_JSON &&
	    out != O_NAMES)
		die("output '%s' is only for -i", outputs[out].name);
	if ((mode == M_XL || mode == M_ENFORCE) && out == O_NAMES)
		die("output 'names' is not for -%c", mode == M_XL ? 'x' : 'e');

	cmp_not_compared(&ignored);
	if (mode == M_ENFORCE) {
		/* The value comes first; the policies, if any, follow. */
		optind++;
		n--;
	}
	in = ealloc(sizeof(*in) * (size_t)(n > 0 ? n : 1));
	for (i = 0; i < n; i++) {
		in[i].path = argv[optind + i];
		load(&in[i]);
	}
	switch (mode) {
	case M_COMPARE:
		rc = compare(&in[0], &in[1], out);
		break;
	case M_DIFF:
		rc = difference(&in[0], &in[1], out);
		break;
	case M_INTERSECT:
		rc = intersect(in, n, out);
		break;
	case M_XL:
		rc = xl_line(in, n - 1, &in[n - 1], out);
		break;
	case M_ENFORCE:
		rc = enforcement(argv[optind - 1], in, n, out);
		break;
	}
	release(in, n);
	free(in);
	fshut(stdout, "<stdout>");
	return rc;
}
