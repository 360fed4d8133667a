/*
 * test-scan.c: the parts of featscan's scan that need no ELF file: the
 * glibc-hwcaps level of a path, and the names of classes and signals
 * (they are the JSON's and the manual's words).
 */
#include <string.h>

#include "harness.h"
#include "scan.h"

static void test_hwcaps(void)
{
	static const struct {
		const char *path;
		int level;
	} cases[] = {
		{ "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1", 3 },
		{ "/opt/lib/glibc-hwcaps/x86-64-v4/libfoo.so", 4 },
		{ "glibc-hwcaps/x86-64-v2/libfoo.so", 2 },
		{ "./glibc-hwcaps/x86-64-v3/libfoo.so", 3 },
		{ "/usr/lib/glibc-hwcaps/x86-64-v5/libfoo.so", 0 },
		{ "/usr/lib/glibc-hwcaps/x86-64-baseline/libfoo.so", 0 },
		{ "/usr/lib/my-glibc-hwcaps/x86-64-v3/libfoo.so", 0 },
		{ "/usr/lib/glibc-hwcaps/x86-64-v3", 0 },
		{ "/usr/lib/x86_64-linux-gnu/libz.so.1", 0 },
		{ "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(scan_hwcaps_level(cases[i].path) == cases[i].level,
		    "'%s': level %d, want %d", cases[i].path,
		    scan_hwcaps_level(cases[i].path), cases[i].level);
}

static void test_names(void)
{
	check(strcmp(scan_class_name(CLASS_BLIND), "blind") == 0 &&
	    strcmp(scan_class_name(CLASS_REQUIRED), "required") == 0 &&
	    strcmp(scan_class_name(CLASS_GUARDED), "guarded") == 0,
	    "class names");
	check(strcmp(scan_signal_name(SIG_NONE), "none") == 0 &&
	    strcmp(scan_signal_name(SIG_HWCAPS), "glibc-hwcaps") == 0 &&
	    strcmp(scan_signal_name(SIG_CPUID_OBJECT), "cpuid-in-object") == 0,
	    "signal names");
}

int main(void)
{
	test_hwcaps();
	test_names();
	return harness_done("test-scan");
}
