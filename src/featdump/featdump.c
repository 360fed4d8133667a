/*
 * featdump: read a CPUID policy and print it.
 *
 * A policy comes from a Xen domain (-d), a system policy of this host (-s),
 * the CPU featdump runs on (-l) or a file (-f); it is printed as feature
 * names, a table, hetmig JSON, raw leaves in `cpuid -r` form or a hex
 * featureset.  See featdump(1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"
#include "xen.h"

enum source { SRC_NONE, SRC_DOMAIN, SRC_SYSTEM, SRC_LOCAL, SRC_FILE };

static const struct {
	const char *name;
	int (*write)(const struct policy *, FILE *);
} outputs[] = {
	{ "names", policy_write_names },
	{ "table", policy_write_table },
	{ "json", policy_write_json },
	{ "raw", policy_write_raw },
	{ "featureset", policy_write_featureset },
};

static void usage(void)
{
	fprintf(stderr, "usage: featdump [-o names|table|json|raw|featureset] "
	    "[-c N]\n"
	    "                -d domain | -s raw|host|pv-default|hvm-default|"
	    "pv-max|hvm-max |\n"
	    "                -l | -f file\n");
	exit(2);
}

static void read_file(const char *path, int cpu, struct policy *p)
{
	struct perr err;
	char *differ = NULL;

	if (policy_read(p, path, cpu, &differ, NULL, NULL, &err) < 0)
		die("%s", err.msg);
	if (differ != NULL) {
		warning("%s: cpus differ: %s; using cpu %d (-c N picks another)",
		    path, differ, cpu);
		free(differ);
	}
}

int main(int argc, char *argv[])
{
	struct policy p = POLICY_INIT;
	enum source src = SRC_NONE;
	const char *arg = NULL, *out = "names";
	int c, cpu = 0, nsrc = 0;
	size_t i;
	char *end;

	progname = "featdump";
	while ((c = getopt(argc, argv, "c:d:f:hlo:s:")) != -1) {
		switch (c) {
		case 'c':
			errno = 0;
			cpu = (int)strtol(optarg, &end, 10);
			if (errno || *optarg == '\0' || *end != '\0' || cpu < 0)
				die("bad cpu number '%s'", optarg);
			break;
		case 'd':
			src = SRC_DOMAIN;
			arg = optarg;
			nsrc++;
			break;
		case 'f':
			src = SRC_FILE;
			arg = optarg;
			nsrc++;
			break;
		case 'l':
			src = SRC_LOCAL;
			nsrc++;
			break;
		case 's':
			src = SRC_SYSTEM;
			arg = optarg;
			nsrc++;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || nsrc != 1)
		usage();
	for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++)
		if (strcmp(outputs[i].name, out) == 0)
			break;
	if (i == sizeof(outputs) / sizeof(outputs[0]))
		die("unknown output '%s': expected names, table, json, raw or "
		    "featureset", out);

	policy_init(&p);
	switch (src) {
	case SRC_DOMAIN:
		xen_read_domain(arg, &p);
		break;
	case SRC_SYSTEM:
		xen_read_system(arg, &p);
		break;
	case SRC_LOCAL:
		cpu_read_local(&p);
		break;
	case SRC_FILE:
		read_file(arg, cpu, &p);
		break;
	case SRC_NONE:
		usage();
	}
	if (outputs[i].write(&p, stdout) < 0)
		die("cannot write to stdout: %s", strerror(errno));
	policy_release(&p);
	fshut(stdout, "<stdout>");
	return 0;
}
