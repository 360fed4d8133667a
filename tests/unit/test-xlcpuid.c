/*
 * test-xlcpuid.c: the settings of cpuid= values (xl_cpuid_items) and the
 * lines rendered with them (xl_cpuid_render_items), table-driven, against
 * the installed libxl.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "xlcpuid.h"

/*
 * Leaf 1 EAX with family 6 in bits 11:8 (no feature's bits); leaf 7
 * EBX with bit 22 (no feature's in Xen 4.17) '1', bmi2 (bit 8) 'k' and
 * avx2 (bit 5) '0'; registers are written bit 31 first.
 */
#define FAMILY6 "xxxxxxxxxxxxxxxxxxxx0110xxxxxxxx"
#define L7EBX	"xxxxxxxxx1xxxxxxxxxxxxxkxx0xxxxx"
#define AVX2_0	"xxxxxxxxxxxxxxxxxxxxxxxxxx0xxxxx"
#define BMI2_0	"xxxxxxxxxxxxxxxxxxxxxxx0xxxxxxxx"
#define BIT22	"xxxxxxxxx1xxxxxxxxxxxxxxxxxxxxxx"
#define FMA_0	"xxxxxxxxxxxxxxxxxxx0xxxxxxxxxxxx"

/*
 * The settings of VALUE as "TEXT/FEATURE/C" joined by spaces, FEATURE
 * "-" for none and "L" after a legacy item; or "error: MESSAGE".
 */
static void settings(const char *value, char *buf, size_t n)
{
	struct xl_item *it;
	struct perr err;
	size_t i, k, len = 0;

	if (xl_cpuid_items(value, &it, &k, &err) < 0) {
		snprintf(buf, n, "error: %s", err.msg);
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < k && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s/%s/%c%s",
		    i ? " " : "", it[i].text, it[i].feature < 0 ? "-" :
		    hm_features[it[i].feature].name, it[i].value ?
		    it[i].value : '-', it[i].legacy ? "L" : "");
	free(it);
}

/*
 * A value's settings: libxl items as they are, with the feature libxl
 * sets (clfsh is clflush; libxl's clflush, family= and proccount= set
 * none) and the value as libxl reads it (a number's lowest bit); legacy
 * items merged as libxl merges them (a later register replaces an
 * earlier one), then split into one item per feature, under libxl's
 * name, and one legacy item for the other bits.
 */
static void test_items(void)
{
	static const struct {
		const char *value;
		const char *want;
	} cases[] = {
		{ "", "" },
		{ "host", "" },
		{ "host,rdtscp=0", "rdtscp=0/rdtscp/0" },
		{ "host,rdtscp=0,family=6,avx2=1",
		  "rdtscp=0/rdtscp/0 family=6/-/- avx2=1/avx2/1" },
		{ "host,clfsh=0,clflush=8", "clfsh=0/clflush/0 clflush=8/-/-" },
		{ "host,avx=1,avx=x,avx=k,avx=s,avx=0x0",
		  "avx=1/avx/1 avx=x/avx/x avx=k/avx/k avx=s/avx/s "
		  "avx=0x0/avx/0" },
		{ "host,sse4_2=0,proccount=2",
		  "sse4_2=0/sse4-2/0 proccount=2/-/-" },
		{ "[]", "" },
		{ "[ ]", "" },
		{ "[ \"0x1:eax=" FAMILY6 "\" ]",
		  "0x00000001:eax=" FAMILY6 "/-/-L" },
		{ "[ \"0x1:eax=" FAMILY6 ",ecx=" FMA_0 "\" ]",
		  "fma=0/fma/0 0x00000001:eax=" FAMILY6 "/-/-L" },
		{ "[ \"0x00000007,0:ebx=" L7EBX "\" ]",
		  "avx2=0/avx2/0 bmi2=k/bmi2/k 0x00000007,0:ebx=" BIT22
		  "/-/-L" },
		{ "[ \"0x7,0:ebx=" AVX2_0 "\", \"0x7,0:ebx=" BMI2_0 "\" ]",
		  "bmi2=0/bmi2/0" },
		{ "[ \"0x7,0:ebx=" AVX2_0 "\",\"0x7,0:ecx=" AVX2_0 "\" ]",
		  "avx2=0/avx2/0 0x00000007,0:ecx=" AVX2_0 "/-/-L" },
	};
	char got[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		settings(cases[i].value, got, sizeof(got));
		check(strcmp(got, cases[i].want) == 0,
		    "items of '%s': want '%s', got '%s'", cases[i].value,
		    cases[i].want, got);
	}
}

/*
 * What is refused, with one line that shows the value (anything
 * unprintable as \xNN): the grammar first (quotes, backslashes, control
 * characters, empty items, spaces in a libxl-form value), then libxl.
 */
static void test_errors(void)
{
	static const struct {
		const char *value;
		const char *want;
	} cases[] = {
		{ "host,avx=0\"",
		  "cpuid value 'host,avx=0\"': unexpected '\"' at character 11" },
		{ "host,avx=0\\",
		  "cpuid value 'host,avx=0\\': unexpected '\\' at character 11" },
		{ "host,avx=0\nfoo=1",
		  "cpuid value 'host,avx=0\\x0afoo=1': unexpected '\\x0a' at "
		  "character 11" },
		{ "host,,avx=0",
		  "cpuid value 'host,,avx=0': unexpected ',' at character 6" },
		{ "host, avx=0",
		  "cpuid value 'host, avx=0': unexpected ' ' at character 6" },
		{ "host,avx=0,", "cpuid value 'host,avx=0,': unexpected end" },
		{ "host,avx==0",
		  "cpuid value 'host,avx==0': unexpected '=' at character 10" },
		{ "avx=0", "cpuid value 'avx=0': the first word must be 'host'" },
		{ "hostile", "cpuid value 'hostile': the first word must be "
		  "'host'" },
		{ "host,nosuch=0",
		  "cpuid item 'nosuch=0' refused by libxl: unknown cpuid flag "
		  "name" },
		{ "host,avx=y",
		  "cpuid item 'avx=y' refused by libxl: illegal cpuid value "
		  "(must be: [0|1|x|k|s])" },
		{ "[ \"0x1:eax=" FAMILY6 "\"",
		  "cpuid value '[ \"0x1:eax=" FAMILY6 "\"': unexpected end" },
		{ "[ \"0x1:eax=" FAMILY6 "\\\" ]",
		  "cpuid value '[ \"0x1:eax=" FAMILY6 "\\\" ]': unexpected '\\' "
		  "at character 44" },
		{ "[ \"0x1:eax=xxx\" ]",
		  "cpuid value '[ \"0x1:eax=xxx\" ]': unexpected '\"' at "
		  "character 15" },
		{ "[ \"0x1:eax=" FAMILY6 "\"\n]",
		  "cpuid value '[ \"0x1:eax=" FAMILY6 "\"\\x0a]': unexpected "
		  "'\\x0a' at character 45" },
		{ "[ \"0x1:eax=" FAMILY6 "\" ] x",
		  "cpuid value '[ \"0x1:eax=" FAMILY6 "\" ] x': unexpected 'x' "
		  "at character 48" },
	};
	char got[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		settings(cases[i].value, got, sizeof(got));
		check(strncmp(got, "error: ", 7) == 0 &&
		    strcmp(got + 7, cases[i].want) == 0,
		    "error of '%s': want '%s', got '%s'", cases[i].value,
		    cases[i].want, got);
	}
}

/* A set from a space-separated list of names. */
static struct fset S(const char *names)
{
	struct fset s = { { 0 } };
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", names);
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		check(feat_lookup(tok) >= 0, "feature '%s' unknown", tok);
		if (feat_lookup(tok) >= 0)
			fs_set(&s, feat_lookup(tok));
	}
	return s;
}

/*
 * A line rendered with the settings of another value after its own
 * mask: libxl items go as they are; a legacy item puts the whole line in
 * the legacy form, its bits written over the mask's; a libxl item that
 * sets no feature cannot join a legacy line.
 */
static void test_render(void)
{
	static const struct {
		const char *hide;
		const char *extra;
		bool legacy;
		const char *want;
	} cases[] = {
		{ "fma avx2", "host,rdtscp=0,family=6",
		  false, "host,fma=0,avx2=0,rdtscp=0,family=6" },
		{ "", "", false, "host" },
		{ "", "", true, "[]" },
		{ "fma", "[ \"0x1:eax=" FAMILY6 "\" ]", false,
		  "[ \"0x00000001:eax=" FAMILY6 ",ecx=" FMA_0 "\" ]" },
		{ "avx2", "host,bmi2=0", true,
		  "[ \"0x00000007,0:ebx=xxxxxxxxxxxxxxxxxxxxxxx0xx0xxxxx\" ]" },
		{ "fma", "host,family=6", true,
		  "error: cpuid item 'family=6' cannot go into the legacy "
		  "form (feature=0|1|x|k|s only)" },
	};
	struct xl_item *it;
	struct perr err;
	struct fset hide;
	char *line;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hide = S(cases[i].hide);
		if (xl_cpuid_items(cases[i].extra, &it, &n, &err) < 0) {
			check(0, "items of '%s': %s", cases[i].extra, err.msg);
			continue;
		}
		line = xl_cpuid_render_items(&hide, it, n, cases[i].legacy,
		    &err);
		if (line == NULL)
			check(strncmp(cases[i].want, "error: ", 7) == 0 &&
			    strcmp(err.msg, cases[i].want + 7) == 0,
			    "render '%s' + '%s': want '%s', got error '%s'",
			    cases[i].hide, cases[i].extra, cases[i].want,
			    err.msg);
		else
			check(strcmp(line, cases[i].want) == 0,
			    "render '%s' + '%s': want '%s', got '%s'",
			    cases[i].hide, cases[i].extra, cases[i].want, line);
		free(line);
		free(it);
	}
}

/*
 * Whatever the settings, a line rendered from them alone reads back as
 * the same settings (a legacy value's are already split).
 */
static void test_round_trip(void)
{
	static const char *const values[] = {
		"host,rdtscp=0,family=6,avx2=1,clfsh=0",
		"[ \"0x1:eax=" FAMILY6 ",ecx=" FMA_0 "\" ]",
		"[ \"0x7,0:ebx=" AVX2_0 "\" ]",
	};
	struct fset none = { { 0 } };
	struct xl_item *it;
	struct perr err;
	char *line, a[1024], b[1024];
	size_t i, n;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		settings(values[i], a, sizeof(a));
		if (xl_cpuid_items(values[i], &it, &n, &err) < 0) {
			check(0, "items of '%s': %s", values[i], err.msg);
			continue;
		}
		line = xl_cpuid_render_items(&none, it, n, false, &err);
		free(it);
		if (line == NULL) {
			check(0, "render of '%s': %s", values[i], err.msg);
			continue;
		}
		settings(line, b, sizeof(b));
		check(strcmp(a, b) == 0, "'%s' renders as '%s': '%s', '%s'",
		    values[i], line, a, b);
		free(line);
	}
}

int main(void)
{
	test_items();
	test_errors();
	test_render();
	test_round_trip();
	return harness_done("test-xlcpuid");
}
