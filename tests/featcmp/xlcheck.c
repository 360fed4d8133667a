/*
 * xlcheck: a cpuid= value through the installed libxl exactly as xl's
 * parse_config_data() takes it, written apart from hetmig's own xlcpuid.c
 * so that the two can disagree: "host,..." is split on ',', the first
 * word must be "host", each other item goes to libxl_cpuid_parse_config();
 * a value in brackets is a list of legacy items, "a", "b", each through
 * libxl_cpuid_parse_config_xend().
 *
 * usage: xlcheck VALUE; exit 0 accepted, 1 refused (the item on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>

static int check_list(char *v)
{
	libxl_cpuid_policy_list l = NULL;
	char *p = v, *q;
	int rc = 0;

	while ((p = strchr(p, '"')) != NULL) {
		q = strchr(p + 1, '"');
		if (q == NULL)
			return 1;
		*q = '\0';
		if (libxl_cpuid_parse_config_xend(&l, p + 1) != 0) {
			fprintf(stderr, "xlcheck: refused '%s'\n", p + 1);
			rc = 1;
		}
		p = q + 1;
	}
	libxl_cpuid_dispose(&l);
	return rc;
}

int main(int argc, char *argv[])
{
	libxl_cpuid_policy_list l = NULL;
	char *v, *p, *save = NULL;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: xlcheck value\n");
		return 2;
	}
	v = strdup(argv[1]);
	if (v == NULL)
		return 2;
	if (v[0] == '[') {
		rc = check_list(v);
		free(v);
		return rc;
	}
	p = strtok_r(v, ",", &save);
	if (p == NULL || strcmp(p, "host") != 0) {
		fprintf(stderr, "xlcheck: first word must be host\n");
		free(v);
		return 1;
	}
	while ((p = strtok_r(NULL, ",", &save)) != NULL)
		if (libxl_cpuid_parse_config(&l, p) != 0) {
			fprintf(stderr, "xlcheck: refused '%s'\n", p);
			rc = 1;
		}
	libxl_cpuid_dispose(&l);
	free(v);
	return rc;
}
