/*
 * xen.c: reading policies from Xen (libxenctrl + libxenguest) and from the
 * CPUID instruction.  See xen.h.
 */
#include <cpuid.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>
#include <xenguest.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "util.h"
#include "xen.h"

const char *const xen_system_names[6] = {
	"raw", "host", "pv-max", "hvm-max", "pv-default", "hvm-default",
};

_Static_assert(XEN_SYSCTL_cpu_policy_raw == 0 &&
    XEN_SYSCTL_cpu_policy_host == 1 && XEN_SYSCTL_cpu_policy_pv_max == 2 &&
    XEN_SYSCTL_cpu_policy_hvm_max == 3 &&
    XEN_SYSCTL_cpu_policy_pv_default == 4 &&
    XEN_SYSCTL_cpu_policy_hvm_default == 5,
    "xen_system_names must follow Xen's policy indices");

int xen_system_index(const char *name)
{
	int i;

	for (i = 0; i < 6; i++)
		if (strcmp(xen_system_names[i], name) == 0)
			return i;
	return -1;
}

/*
 * open_xen: a libxenctrl handle, or die with the reason a user can act on.
 * xc_interface_open logs through its own logger; pass a quiet one so that
 * the only message is ours.
 */
static xc_interface *open_xen(void)
{
	static xentoollog_logger_stdiostream *quiet;
	xc_interface *xch;
	int saved;

	if (quiet == NULL)
		quiet = xtl_createlogger_stdiostream(stderr, XTL_NUM_LEVELS, 0);
	xch = xc_interface_open((xentoollog_logger *)quiet,
	    (xentoollog_logger *)quiet, 0);
	if (xch == NULL) {
		saved = errno;
		if (saved == ENOENT)
			die("cannot open '/dev/xen/privcmd': not a Xen dom0");
		if (saved == EACCES || saved == EPERM)
			die("cannot open '/dev/xen/privcmd': permission "
			    "denied (run as root)");
		die("cannot open '/dev/xen/privcmd': %s", strerror(saved));
	}
	return xch;
}

/* Serialise POL into P. */
static void from_xc(xc_interface *xch, xc_cpu_policy_t *pol,
		    struct policy *p)
{
	xen_cpuid_leaf_t *leaves = NULL;
	xen_msr_entry_t *msrs = NULL;
	uint32_t nr_leaves, nr_msrs, i;

	if (xc_cpu_policy_get_size(xch, &nr_leaves, &nr_msrs) != 0)
		die("cannot get the cpu policy size: %s", strerror(errno));
	leaves = ealloc(nr_leaves * sizeof(*leaves));
	msrs = ealloc(nr_msrs * sizeof(*msrs));
	if (xc_cpu_policy_serialise(xch, pol, leaves, &nr_leaves, msrs,
	    &nr_msrs) != 0)
		die("cannot serialise the cpu policy: %s", strerror(errno));
	for (i = 0; i < nr_leaves; i++)
		if (policy_set_leaf(p, leaves[i].leaf, leaves[i].subleaf,
		    leaves[i].a, leaves[i].b, leaves[i].c, leaves[i].d) < 0)
			die("the cpu policy has too many leaves");
	for (i = 0; i < nr_msrs; i++)
		if (policy_set_msr(p, msrs[i].idx, msrs[i].val) < 0)
			die("the cpu policy has too many msrs");
	policy_identify(p);
	free(leaves);
	free(msrs);
}

/*
 * Domain names live in xenstore (/local/domain/ID/name), which is how xl
 * itself maps them; reading it needs no libxl context.
 */
static uint32_t domid_by_name(const char *name)
{
	struct xs_handle *xs;
	char **dir = NULL, path[64], *v;
	unsigned int n, i;
	long found = -1;

	xs = xs_open(XS_OPEN_READONLY);
	if (xs == NULL)
		die("cannot open xenstore: %s", strerror(errno));
	dir = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	for (i = 0; dir != NULL && i < n && found < 0; i++) {
		snprintf(path, sizeof(path), "/local/domain/%s/name", dir[i]);
		v = xs_read(xs, XBT_NULL, path, NULL);
		if (v != NULL && strcmp(v, name) == 0)
			found = strtol(dir[i], NULL, 10);
		free(v);
	}
	free(dir);
	xs_close(xs);
	if (found < 0)
		die("unknown domain '%s'", name);
	return (uint32_t)found;
}

static uint32_t parse_domain(const char *domain)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(domain, &end, 10);
	if (*domain != '\0' && *end == '\0' && errno == 0 && v < 0x7ff0)
		return (uint32_t)v;
	return domid_by_name(domain);
}

void xen_read_domain(const char *domain, struct policy *p)
{
	xc_interface *xch = open_xen();
	xc_cpu_policy_t *pol = xc_cpu_policy_init();
	uint32_t domid = parse_domain(domain);

	if (pol == NULL)
		die("out of memory");
	if (xc_cpu_policy_get_domain(xch, domid, pol) != 0) {
		if (errno == ESRCH || errno == EINVAL)
			die("unknown domain '%s'", domain);
		die("cannot read the cpu policy of domain '%s': %s", domain,
		    strerror(errno));
	}
	from_xc(xch, pol, p);
	policy_set_source(p, "domain", domain);
	xc_cpu_policy_destroy(pol);
	xc_interface_close(xch);
}

void xen_read_system(const char *name, struct policy *p)
{
	int idx = xen_system_index(name);
	xc_interface *xch;
	xc_cpu_policy_t *pol;

	if (idx < 0)
		die("unknown system policy '%s': expected raw, host, "
		    "pv-default, hvm-default, pv-max or hvm-max", name);
	xch = open_xen();
	if ((pol = xc_cpu_policy_init()) == NULL)
		die("out of memory");
	if (xc_cpu_policy_get_system(xch, (unsigned int)idx, pol) != 0) {
		if (errno == EOPNOTSUPP || errno == ENOENT)
			die("system policy '%s' is not available in this "
			    "Xen version", name);
		die("cannot read system policy '%s': %s", name,
		    strerror(errno));
	}
	from_xc(xch, pol, p);
	policy_set_source(p, "system", name);
	xc_cpu_policy_destroy(pol);
	xc_interface_close(xch);
}

/*
 * Read every leaf of the range that starts at BASE.  Leaf 7 says in eax how
 * many subleaves it has; leaf 0xd's subleaves are walked to the end and the
 * empty ones dropped.  Other leaves are read at subleaf 0: they carry no
 * features, only topology and cache data.
 */
static void read_range(struct policy *p, uint32_t base)
{
	unsigned int a, b, c, d, max, leaf, sub, nsub;

	__cpuid_count(base, 0, a, b, c, d);
	max = a;
	if (base != 0 && (max < base || max > base + 0xff))
		return;
	if (base == 0 && max > 0xff)
		max = 0xff;
	for (leaf = base; leaf <= max; leaf++) {
		__cpuid_count(leaf, 0, a, b, c, d);
		policy_set_leaf(p, leaf, 0, a, b, c, d);
		nsub = leaf == 7 ? (a < 8 ? a : 8) : leaf == 0xd ? 63 : 0;
		for (sub = 1; sub <= nsub; sub++) {
			__cpuid_count(leaf, sub, a, b, c, d);
			if (leaf == 7 || (a | b | c | d) != 0)
				policy_set_leaf(p, leaf, sub, a, b, c, d);
		}
	}
}

void cpu_read_local(struct policy *p)
{
	read_range(p, 0);
	read_range(p, 0x80000000u);
	policy_identify(p);
	policy_set_source(p, "cpu", NULL);
}
