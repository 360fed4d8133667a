/*
 * xen.h: the bridge to the running hypervisor, through libxenctrl and
 * libxenguest.  Every function dies with one clear line when Xen is not
 * there (not a dom0, not root) rather than returning half a policy.
 */
#ifndef HETMIG_XEN_H
#define HETMIG_XEN_H

#include "policy.h"

/* System policy names, in Xen's XEN_SYSCTL_cpu_policy_* order. */
extern const char *const xen_system_names[6];

/* xen_system_index: index of NAME in xen_system_names, or -1. */
int xen_system_index(const char *name);

/* Fill P (initialised by the caller) with domain DOMAIN (name or id). */
void xen_read_domain(const char *domain, struct policy *p);

/* Fill P with this host's system policy NAME ("host", "hvm-default" ...). */
void xen_read_system(const char *name, struct policy *p);

/* Fill P with what the CPUID instruction reports on this CPU. */
void cpu_read_local(struct policy *p);

#endif
