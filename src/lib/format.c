/*
 * format.c: reading and writing policies.
 *
 * Inputs: the Debian cpuid tool's raw dumps (`cpuid -r`, one CPU or all),
 * `xen-cpuid -p` output, a featureset in xen-cpuid's colon-hex or XAPI's
 * dash-hex form, and hetmig's JSON.  The parsers never exit: a bad input
 * gets -1 and one message naming the file, the line and what was expected.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "enforce.h"
#include "jtext.h"
#include "policy.h"
#include "util.h"

#define MAX_CPUS 65536

static int perr_set(struct perr *e, const char *name, size_t line,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int perr_set(struct perr *e, const char *name, size_t line,
		    const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (line > 0)
		n = snprintf(e->msg, sizeof(e->msg), "%s:%zu: ", name, line);
	else
		n = snprintf(e->msg, sizeof(e->msg), "%s: ", name);
	if (n < 0 || (size_t)n >= sizeof(e->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg + n, sizeof(e->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A line cursor over a NUL-terminated buffer; lines may end in \r\n. */
struct lines {
	const char *p, *end;
	size_t no;
	char buf[512];
	bool toolong;
};

static bool next_line(struct lines *ls)
{
	const char *nl;
	size_t n;

	if (ls->p >= ls->end)
		return false;
	nl = memchr(ls->p, '\n', (size_t)(ls->end - ls->p));
	n = nl ? (size_t)(nl - ls->p) : (size_t)(ls->end - ls->p);
	ls->toolong = n >= sizeof(ls->buf);
	if (ls->toolong)
		n = sizeof(ls->buf) - 1;
	memcpy(ls->buf, ls->p, n);
	ls->buf[n] = '\0';
	if (n > 0 && ls->buf[n - 1] == '\r')
		ls->buf[n - 1] = '\0';
	ls->p = nl ? nl + 1 : ls->end;
	ls->no++;
	return true;
}

static bool blank(const char *s)
{
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

static const char *skipws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Parse exactly one hex number with optional 0x, at most 16 digits. */
static const char *hexnum(const char *s, uint64_t *v_r, int maxdigits)
{
	uint64_t v = 0;
	int n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (isxdigit((unsigned char)*s)) {
		int c = tolower((unsigned char)*s);

		if (++n > maxdigits)
			return NULL;
		v = v * 16 + (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
		s++;
	}
	if (n == 0)
		return NULL;
	*v_r = v;
	return s;
}

static bool is_json(const char *buf)
{
	return *skipws(buf) == '{';
}

/* A featureset: 8-hex-digit words joined by ':' or '-', nothing else. */
static bool is_featureset(const char *buf, size_t len)
{
	size_t i, digits = 0, words = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (isxdigit(c)) {
			if (++digits > 8)
				return false;
		} else if (c == ':' || c == '-') {
			if (digits != 8)
				return false;
			digits = 0;
			words++;
		} else if (isspace(c)) {
			if (!blank(buf + i))
				return false;
			break;
		} else {
			return false;
		}
	}
	return digits == 8 && words + 1 >= 1;
}

enum policy_format policy_detect(const char *buf, size_t len)
{
	struct lines ls = { buf, buf + len, 0, "", false };

	if (memchr(buf, '\0', len) != NULL)
		return FMT_UNKNOWN;
	if (is_json(buf))
		return FMT_JSON;
	if (is_featureset(skipws(buf), len - (size_t)(skipws(buf) - buf)))
		return FMT_FEATURESET;
	while (next_line(&ls)) {
		if (blank(ls.buf))
			continue;
		if (strncmp(ls.buf, "CPU", 3) == 0 &&
		    strchr(ls.buf, ':') != NULL)
			return FMT_CPUID_RAW;
		if (strstr(ls.buf, "policy:") != NULL ||
		    strstr(ls.buf, "leaves,") != NULL)
			return FMT_XEN_CPUID;
		/* xen-cpuid -p opens with the sizes of its buffers. */
		if (strncmp(ls.buf, "Xen reports there are", 21) == 0)
			continue;
		return FMT_UNKNOWN;
	}
	return FMT_UNKNOWN;
}

/* One CPU of a raw dump, kept while parsing the others. */
struct rawcpu {
	struct policy p;
};

/*
 * "   0x00000007 0x00: eax=0x00000000 ebx=0x... ecx=0x... edx=0x..."
 */
static int parse_raw_line(const char *s, uint32_t v[6])
{
	static const char *const regs[] = { "eax=", "ebx=", "ecx=", "edx=" };
	uint64_t x;
	int i;

	s = skipws(s);
	if ((s = hexnum(s, &x, 8)) == NULL)
		return -1;
	v[0] = (uint32_t)x;
	if (*s != ' ')
		return -1;
	s = skipws(s);
	if ((s = hexnum(s, &x, 8)) == NULL || *s != ':')
		return -1;
	v[1] = (uint32_t)x;
	s++;
	for (i = 0; i < 4; i++) {
		s = skipws(s);
		if (strncmp(s, regs[i], 4) != 0)
			return -1;
		if ((s = hexnum(s + 4, &x, 8)) == NULL)
			return -1;
		v[2 + i] = (uint32_t)x;
	}
	return blank(s) ? 0 : -1;
}

/*
 * Describe the leaves whose feature words differ between CPU 0's
 * featureset A and another CPU's B.
 */
static char *describe_differ(const struct fset *a, const struct fset *b,
			     int cpu)
{
	char buf[512];
	size_t n;
	int w;

	n = (size_t)snprintf(buf, sizeof(buf),
	    "cpu %d differs from cpu 0 in", cpu);
	for (w = 0; w < HM_NR_WORDS && n < sizeof(buf); w++) {
		const struct hm_word *hw = &hm_words[w];

		if (a->w[w] == b->w[w])
			continue;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    " %s 0x%08" PRIx32 ":%" PRIu32 ".%s",
		    hw->src == HM_SRC_MSR ? "msr" : "leaf", hw->leaf,
		    hw->subleaf, reg_name(hw->reg));
	}
	return estrdup(buf);
}

static int parse_raw(struct policy *p, const char *buf, size_t len,
		     const char *name, int want, char **differ_r,
		     struct perr *err)
{
	struct lines ls = { buf, buf + len, 0, "", false };
	struct policy cur = POLICY_INIT;
	struct fset first, fs;
	int ncpu = 0, found = 0, rc = -1;
	bool have_first = false, in_cpu = false;

	policy_init(&cur);
	while (next_line(&ls)) {
		uint32_t v[6];

		if (ls.toolong) {
			perr_set(err, name, ls.no, "line too long");
			goto out;
		}
		if (blank(ls.buf))
			continue;
		if (strncmp(ls.buf, "CPU", 3) == 0) {
			const char *s = ls.buf + 3;

			if (*s == ' ') {
				char *end;

				errno = 0;
				(void)strtoul(s + 1, &end, 10);
				if (errno || end == s + 1 || *end != ':')
					goto bad_header;
				s = end;
			}
			if (*s != ':' || !blank(s + 1))
				goto bad_header;
			if (in_cpu) {
				/* Finish the previous CPU. */
				policy_featureset(&cur, &fs);
				if (!have_first) {
					first = fs;
					have_first = true;
				} else if (!fs_equal(&first, &fs) &&
				    differ_r && *differ_r == NULL) {
					*differ_r = describe_differ(&first, &fs,
					    ncpu - 1);
				}
				if (ncpu - 1 == want) {
					policy_release(p);
					*p = cur;
					policy_init(&cur);
					found = 1;
				} else {
					policy_release(&cur);
				}
			}
			if (++ncpu > MAX_CPUS) {
				perr_set(err, name, ls.no,
				    "more than %d CPUs", MAX_CPUS);
				goto out;
			}
			in_cpu = true;
			continue;
		}
		if (!in_cpu) {
			perr_set(err, name, ls.no,
			    "expected a 'CPU:' or 'CPU N:' header");
			goto out;
		}
		if (parse_raw_line(ls.buf, v) < 0) {
			perr_set(err, name, ls.no, "expected '0xLEAF 0xSUB: "
			    "eax=0x... ebx=0x... ecx=0x... edx=0x...'");
			goto out;
		}
		if (policy_set_leaf(&cur, v[0], v[1], v[2], v[3], v[4],
		    v[5]) < 0) {
			perr_set(err, name, ls.no, "more than %d leaves",
			    POLICY_MAX_LEAVES);
			goto out;
		}
	}
	if (!in_cpu) {
		perr_set(err, name, 0, "no 'CPU:' header");
		goto out;
	}
	policy_featureset(&cur, &fs);
	if (have_first && !fs_equal(&first, &fs) && differ_r &&
	    *differ_r == NULL)
		*differ_r = describe_differ(&first, &fs, ncpu - 1);
	if (ncpu - 1 == want) {
		policy_release(p);
		*p = cur;
		policy_init(&cur);
		found = 1;
	}
	if (!found) {
		perr_set(err, name, 0, "no cpu %d: the dump has %d", want,
		    ncpu);
		goto out;
	}
	if (p->nr_leaves == 0) {
		perr_set(err, name, 0, "cpu %d has no leaves", want);
		goto out;
	}
	rc = 0;
out:
	policy_release(&cur);
	return rc;
bad_header:
	perr_set(err, name, ls.no, "expected a 'CPU:' or 'CPU N:' header");
	goto out;
}

/*
 * xen-cpuid -p:
 *   Xen reports there are maximum 120 leaves and 2 MSRs
 *   Raw policy: 49 leaves, 2 MSRs
 *    CPUID:
 *     leaf     subleaf  -> eax      ebx      ecx      edx
 *     00000000:ffffffff -> 0000000d:68747541:444d4163:69746e65
 *    MSRs:
 *     index    -> value
 *     000000ce -> 0000000000000000
 * Several policies may follow one another; WANT picks one.  xen-cpuid
 * leaves out the leaves that are all zero.
 */
static int parse_xen_cpuid(struct policy *p, const char *buf, size_t len,
			   const char *name, int want, struct perr *err)
{
	struct lines ls = { buf, buf + len, 0, "", false };
	int npol = -1;
	enum { NONE, LEAVES, MSRS } sect = NONE;

	while (next_line(&ls)) {
		const char *s = skipws(ls.buf);
		uint64_t x[6];
		int i;

		if (ls.toolong)
			return perr_set(err, name, ls.no, "line too long");
		if (blank(s))
			continue;
		if (strstr(s, "policy:") != NULL || strstr(s, "leaves,")) {
			npol++;
			sect = NONE;
			continue;
		}
		if (npol < 0 && strncmp(s, "Xen reports there are", 21) == 0)
			continue;
		if (npol < 0)
			return perr_set(err, name, ls.no,
			    "expected a 'NAME policy: N leaves, M MSRs' line");
		if (strcmp(s, "CPUID:") == 0) {
			sect = LEAVES;
			continue;
		}
		if (strcmp(s, "MSRs:") == 0) {
			sect = MSRS;
			continue;
		}
		if (strncmp(s, "leaf", 4) == 0 || strncmp(s, "index", 5) == 0)
			continue;
		if (npol != want)
			continue;
		if (sect == LEAVES) {
			if ((s = hexnum(s, &x[0], 8)) == NULL || *s != ':' ||
			    (s = hexnum(s + 1, &x[1], 8)) == NULL)
				goto bad_leaf;
			s = skipws(s);
			if (strncmp(s, "->", 2) != 0)
				goto bad_leaf;
			s = skipws(s + 2);
			for (i = 2; i < 6; i++) {
				if ((s = hexnum(s, &x[i], 8)) == NULL)
					goto bad_leaf;
				if (i < 5 && *s++ != ':')
					goto bad_leaf;
			}
			if (!blank(s))
				goto bad_leaf;
			if (policy_set_leaf(p, (uint32_t)x[0], (uint32_t)x[1],
			    (uint32_t)x[2], (uint32_t)x[3], (uint32_t)x[4],
			    (uint32_t)x[5]) < 0)
				return perr_set(err, name, ls.no,
				    "more than %d leaves", POLICY_MAX_LEAVES);
		} else if (sect == MSRS) {
			if ((s = hexnum(s, &x[0], 8)) == NULL)
				goto bad_msr;
			s = skipws(s);
			if (strncmp(s, "->", 2) != 0 ||
			    (s = hexnum(skipws(s + 2), &x[1], 16)) == NULL ||
			    !blank(s))
				goto bad_msr;
			if (policy_set_msr(p, (uint32_t)x[0], x[1]) < 0)
				return perr_set(err, name, ls.no,
				    "more than %d MSRs", POLICY_MAX_MSRS);
		} else {
			return perr_set(err, name, ls.no,
			    "expected 'CPUID:' or 'MSRs:'");
		}
	}
	if (npol < want)
		return perr_set(err, name, 0, "no policy %d: the file has %d",
		    want, npol + 1);
	if (p->nr_leaves == 0)
		return perr_set(err, name, 0, "policy %d has no leaves", want);
	return 0;
bad_leaf:
	return perr_set(err, name, ls.no,
	    "expected 'LEAF:SUBLEAF -> EAX:EBX:ECX:EDX' in hex");
bad_msr:
	return perr_set(err, name, ls.no, "expected 'INDEX -> VALUE' in hex");
}

static int parse_featureset(struct policy *p, const char *buf,
			    const char *name, struct perr *err)
{
	struct fset fs = { { 0 } };
	const char *s = skipws(buf);
	unsigned int w = 0;

	for (;;) {
		uint64_t v;

		if ((s = hexnum(s, &v, 8)) == NULL)
			return perr_set(err, name, 1, "expected 8 hex digits");
		if (w < HM_NR_WORDS)
			fs.w[w] = (uint32_t)v;
		else if (v != 0)
			warning("%s: featureset word %u is unknown to this "
			    "Xen version; ignored", name, w);
		w++;
		if (*s != ':' && *s != '-')
			break;
		s++;
	}
	fs_known(&fs);
	policy_apply_featureset(p, &fs);
	return 0;
}

/* A JSON number, or a string in hex ("0x...") or decimal. */
static int json_u64(json_t *j, uint64_t max, uint64_t *v_r)
{
	if (json_is_integer(j)) {
		json_int_t v = json_integer_value(j);

		if (v < 0 || (uint64_t)v > max)
			return -1;
		*v_r = (uint64_t)v;
		return 0;
	}
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		char *end;

		errno = 0;
		*v_r = strtoull(s, &end, 0);
		if (errno || end == s || *end != '\0' || *v_r > max ||
		    *s == '-')
			return -1;
		return 0;
	}
	return -1;
}

/*
 * json_identity: a policy of features alone has no leaves to say whose
 * CPU it was measured on, so it may say so in "vendor", "family",
 * "model" and "stepping" (featmin writes its -p policy's).  A vendor that
 * is not 12 printable characters, or numbers that do not fit, leave it
 * unknown: those fields are informative, never a reason to refuse.
 */
static void json_identity(struct policy *p, json_t *root)
{
	json_t *v = json_object_get(root, "vendor");
	json_int_t n[3] = { 0, 0, 0 };
	static const char *const keys[] = { "family", "model", "stepping" };
	size_t i;

	if (!json_is_string(v))
		return;
	for (i = 0; i < 3; i++) {
		json_t *j = json_object_get(root, keys[i]);

		if (j == NULL)
			continue;
		if (!json_is_integer(j) || json_integer_value(j) < 0 ||
		    json_integer_value(j) > 0xffff)
			return;
		n[i] = json_integer_value(j);
	}
	(void)policy_set_identity(p, json_string_value(v), (unsigned int)n[0],
	    (unsigned int)n[1], (unsigned int)n[2]);
}

static int parse_json(struct policy *p, const char *buf, size_t len,
		      const char *name, struct perr *err)
{
	json_error_t jerr;
	json_t *root, *leaves, *msrs, *feats, *fmt, *src;
	size_t i, j;
	int rc = -1;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return perr_set(err, name, (size_t)(jerr.line > 0 ? jerr.line : 0),
		    "bad json: %s", jerr.text);
	if (!json_is_object(root)) {
		perr_set(err, name, 0, "expected a json object");
		goto out;
	}
	fmt = json_object_get(root, "format");
	if (!json_is_string(fmt) ||
	    strncmp(json_string_value(fmt), "hetmig-policy/", 14) != 0) {
		perr_set(err, name, 0,
		    "expected \"format\": \"hetmig-policy/1\"");
		goto out;
	}
	if (strcmp(json_string_value(fmt), "hetmig-policy/1") != 0) {
		perr_set(err, name, 0, "unsupported format '%s'",
		    json_string_value(fmt));
		goto out;
	}
	leaves = json_object_get(root, "leaves");
	if (leaves != NULL && !json_is_array(leaves)) {
		perr_set(err, name, 0, "\"leaves\" must be an array");
		goto out;
	}
	json_array_foreach(leaves, i, src) {
		uint64_t v[6];

		if (!json_is_array(src) || json_array_size(src) != 6) {
			perr_set(err, name, 0, "leaf %zu: expected "
			    "[leaf, subleaf, eax, ebx, ecx, edx]", i);
			goto out;
		}
		for (j = 0; j < 6; j++)
			if (json_u64(json_array_get(src, j), UINT32_MAX,
			    &v[j]) < 0) {
				perr_set(err, name, 0, "leaf %zu: value %zu is "
				    "not a 32-bit number", i, j);
				goto out;
			}
		if (policy_set_leaf(p, (uint32_t)v[0], (uint32_t)v[1],
		    (uint32_t)v[2], (uint32_t)v[3], (uint32_t)v[4],
		    (uint32_t)v[5]) < 0) {
			perr_set(err, name, 0, "more than %d leaves",
			    POLICY_MAX_LEAVES);
			goto out;
		}
	}
	msrs = json_object_get(root, "msrs");
	if (msrs != NULL && !json_is_array(msrs)) {
		perr_set(err, name, 0, "\"msrs\" must be an array");
		goto out;
	}
	json_array_foreach(msrs, i, src) {
		uint64_t idx, val;

		if (!json_is_array(src) || json_array_size(src) != 2 ||
		    json_u64(json_array_get(src, 0), UINT32_MAX, &idx) < 0 ||
		    json_u64(json_array_get(src, 1), UINT64_MAX, &val) < 0) {
			perr_set(err, name, 0,
			    "msr %zu: expected [index, value]", i);
			goto out;
		}
		if (policy_set_msr(p, (uint32_t)idx, val) < 0) {
			perr_set(err, name, 0, "more than %d msrs",
			    POLICY_MAX_MSRS);
			goto out;
		}
	}
	/* Leaves are the truth; features only stand in when there are none. */
	feats = json_object_get(root, "features");
	if (p->nr_leaves == 0 && p->nr_msrs == 0) {
		struct fset fs = { { 0 } };

		if (!json_is_array(feats)) {
			perr_set(err, name, 0,
			    "expected \"leaves\" or \"features\"");
			goto out;
		}
		json_array_foreach(feats, i, src) {
			int f = json_is_string(src) ?
			    feat_lookup(json_string_value(src)) : -1;

			if (f < 0) {
				perr_set(err, name, 0, "unknown feature '%s'",
				    json_is_string(src) ?
				    json_string_value(src) : "?");
				goto out;
			}
			fs_set(&fs, f);
		}
		policy_apply_featureset(p, &fs);
		json_identity(p, root);
	}
	src = json_object_get(root, "source");
	if (json_is_object(src)) {
		json_t *k = json_object_get(src, "kind");
		json_t *n = json_object_get(src, "name");

		if (json_is_string(k))
			policy_set_source(p, json_string_value(k),
			    json_is_string(n) ? json_string_value(n) : NULL);
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int policy_parse(struct policy *p, const char *buf, size_t len,
		 const char *name, int cpu, char **differ_r, struct perr *err)
{
	int rc;

	if (differ_r)
		*differ_r = NULL;
	if (len == 0)
		return perr_set(err, name, 0, "empty input");
	switch (policy_detect(buf, len)) {
	case FMT_CPUID_RAW:
		rc = parse_raw(p, buf, len, name, cpu, differ_r, err);
		break;
	case FMT_XEN_CPUID:
		rc = parse_xen_cpuid(p, buf, len, name, cpu, err);
		break;
	case FMT_FEATURESET:
		rc = parse_featureset(p, buf, name, err);
		break;
	case FMT_JSON:
		rc = parse_json(p, buf, len, name, err);
		break;
	default:
		return perr_set(err, name, 0, "unknown format: expected a "
		    "cpuid -r dump, xen-cpuid -p output, a hex featureset "
		    "or hetmig json");
	}
	if (rc == 0) {
		policy_identify(p);
		if (p->source_kind == NULL)
			policy_set_source(p, "file", name);
	}
	return rc;
}

int policy_read(struct policy *p, const char *path, int cpu, char **differ_r,
		char **text_r, size_t *len_r, struct perr *err)
{
	char *buf;
	size_t len;
	int rc;

	if (text_r != NULL)
		*text_r = NULL;
	if (differ_r != NULL)
		*differ_r = NULL;
	buf = read_all(path, POLICY_MAX_INPUT, &len);
	if (buf == NULL) {
		if (errno == EFBIG)
			perr_printf(err, "cannot read '%s': larger than %u MiB",
			    path, POLICY_MAX_INPUT >> 20);
		else
			perr_printf(err, "cannot open '%s': %s", path,
			    strerror(errno));
		return -1;
	}
	rc = policy_parse(p, buf, len, strcmp(path, "-") ? path : "<stdin>",
	    cpu, differ_r, err);
	if (rc == 0 && text_r != NULL) {
		*text_r = buf;
		if (len_r != NULL)
			*len_r = len;
	} else {
		free(buf);
	}
	if (rc < 0 && differ_r != NULL) {
		free(*differ_r);
		*differ_r = NULL;
	}
	return rc;
}

int fset_write_names(const struct fset *fs, FILE *fp)
{
	int i;

	for (i = 0; i < HM_NR_FEATURES; i++)
		if (fs_has(fs, i))
			fprintf(fp, "%s\n", hm_features[i].name);
	return ferror(fp) ? -1 : 0;
}

int policy_write_names(const struct policy *p, FILE *fp)
{
	struct fset fs;

	policy_featureset(p, &fs);
	return fset_write_names(&fs, fp);
}

/*
 * enforcement_word: feature F's enforcement class as one word for tables:
 * "enforced", "cpuid-only", or "with-" and the features that make it
 * enforced when hidden too ("with-avx"), into BUF.
 */
static const char *enforcement_word(int f, char *buf, size_t n)
{
	struct fset with;
	size_t len;
	int g;

	switch (enf_class(f, &with)) {
	case ENF_ENFORCED:
		return "enforced";
	case ENF_CPUID_ONLY:
		return "cpuid-only";
	case ENF_CONDITIONAL:
		break;
	}
	len = (size_t)snprintf(buf, n, "with");
	for (g = 0; g < HM_NR_FEATURES && len < n; g++)
		if (fs_has(&with, g))
			len += (size_t)snprintf(buf + len, n - len, "%c%s",
			    len == 4 ? '-' : '+', hm_features[g].name);
	return buf;
}

int policy_write_table(const struct policy *p, FILE *fp)
{
	struct fset fs;
	int i;

	policy_featureset(p, &fs);
	fprintf(fp, "%-22s %-14s %-4s %3s  %-14s %s\n", "feature", "leaf",
	    "reg", "bit", "enforcement", "attrs");
	for (i = 0; i < HM_NR_FEATURES; i++) {
		const struct hm_word *hw = &hm_words[feat_word(i)];
		char where[32], enf[64];

		if (!fs_has(&fs, i))
			continue;
		if (hw->src == HM_SRC_MSR)
			snprintf(where, sizeof(where), "msr 0x%" PRIx32,
			    hw->leaf);
		else if (hw->anysub)
			snprintf(where, sizeof(where), "0x%08" PRIx32,
			    hw->leaf);
		else
			snprintf(where, sizeof(where), "0x%08" PRIx32 ":%" PRIu32,
			    hw->leaf, hw->subleaf);
		fprintf(fp, "%-22s %-14s %-4s %3u  %-14s %s\n",
		    hm_features[i].name, where, reg_name(hw->reg),
		    feat_bit(i) + (hw->src == HM_SRC_MSR &&
		    hw->reg == HM_EDX ? 32 : 0),
		    enforcement_word(i, enf, sizeof(enf)),
		    hm_features[i].attrs);
	}
	return ferror(fp) ? -1 : 0;
}

int policy_write_raw(const struct policy *p, FILE *fp)
{
	size_t i;

	fprintf(fp, "CPU:\n");
	for (i = 0; i < p->nr_leaves; i++) {
		const struct cpuid_leaf *l = &p->leaves[i];

		fprintf(fp, "   0x%08" PRIx32 " 0x%02" PRIx32 ": eax=0x%08" PRIx32
		    " ebx=0x%08" PRIx32 " ecx=0x%08" PRIx32 " edx=0x%08" PRIx32
		    "\n", l->leaf, l->subleaf, l->a, l->b, l->c, l->d);
	}
	return ferror(fp) ? -1 : 0;
}

int policy_write_featureset(const struct policy *p, FILE *fp)
{
	struct fset fs;
	int w;

	policy_featureset(p, &fs);
	for (w = 0; w < HM_NR_WORDS; w++)
		fprintf(fp, "%s%08" PRIx32, w ? ":" : "", fs.w[w]);
	fputc('\n', fp);
	return ferror(fp) ? -1 : 0;
}

/*
 * json_enforcement: {"class": {FEATURE: CLASS, ...}, "with": {FEATURE:
 * [NAME, ...], ...}} for the features of FS: each one's enforcement class
 * and, for a conditional one, what must be hidden with it.
 */
static json_t *json_enforcement(const struct fset *fs)
{
	json_t *cls = json_object(), *with = json_object(), *o;
	struct fset w;
	enum enf_class c;
	int f, g;

	if (cls == NULL || with == NULL)
		die("out of memory");
	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(fs, f))
			continue;
		c = enf_class(f, &w);
		json_object_set_new(cls, hm_features[f].name,
		    json_string(enf_class_name(c)));
		if (c != ENF_CONDITIONAL)
			continue;
		o = json_array();
		for (g = 0; g < HM_NR_FEATURES; g++)
			if (fs_has(&w, g))
				json_array_append_new(o,
				    json_string(hm_features[g].name));
		json_object_set_new(with, hm_features[f].name, o);
	}
	o = json_pack("{s:o, s:o}", "class", cls, "with", with);
	if (o == NULL)
		die("out of memory");
	return o;
}

int policy_write_json(const struct policy *p, FILE *fp)
{
	json_t *root, *leaves, *msrs, *feats, *src, *enf;
	struct fset fs;
	size_t i;
	int f, rc;

	root = json_object();
	leaves = json_array();
	msrs = json_array();
	feats = json_array();
	src = json_object();
	if (!root || !leaves || !msrs || !feats || !src)
		die("out of memory");
	json_object_set_new(src, "kind", json_text(p->source_kind ?
	    p->source_kind : "unknown"));
	if (p->source_name)
		json_object_set_new(src, "name", json_text(p->source_name));
	for (i = 0; i < p->nr_leaves; i++) {
		const struct cpuid_leaf *l = &p->leaves[i];

		json_array_append_new(leaves, json_pack("[IIIIII]",
		    (json_int_t)l->leaf, (json_int_t)l->subleaf,
		    (json_int_t)l->a, (json_int_t)l->b, (json_int_t)l->c,
		    (json_int_t)l->d));
	}
	for (i = 0; i < p->nr_msrs; i++) {
		/* JSON numbers lose precision past 2^53: write MSRs in hex. */
		char hex[24];

		snprintf(hex, sizeof(hex), "0x%016" PRIx64, p->msrs[i].val);
		json_array_append_new(msrs, json_pack("[Is]",
		    (json_int_t)p->msrs[i].index, hex));
	}
	policy_featureset(p, &fs);
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(&fs, f))
			json_array_append_new(feats,
			    json_string(hm_features[f].name));
	enf = json_enforcement(&fs);
	json_object_set_new(root, "format", json_string("hetmig-policy/1"));
	json_object_set_new(root, "source", src);
	json_object_set_new(root, "vendor", json_string(p->vendor));
	json_object_set_new(root, "family", json_integer(p->family));
	json_object_set_new(root, "model", json_integer(p->model));
	json_object_set_new(root, "stepping", json_integer(p->stepping));
	json_object_set_new(root, "leaves", leaves);
	json_object_set_new(root, "msrs", msrs);
	json_object_set_new(root, "features", feats);
	json_object_set_new(root, "enforcement", enf);
	rc = json_dumpf(root, fp, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
	    JSON_COMPACT);
	fputc('\n', fp);
	json_decref(root);
	return rc < 0 || ferror(fp) ? -1 : 0;
}
