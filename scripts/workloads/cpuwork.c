/*
 * cpuwork: a guest workload that picks its code path from CPUID, the way
 * glibc and PostgreSQL do, and keeps running.
 *
 * At start it reads CPUID once: when the CPU offers fma and bmi2 it uses
 * the vfmadd231sd and pdep instructions, else plain C.  Then it loops,
 * printing "cpuwork: tick N path P sum S" every second or so, forever or
 * for the given number of ticks.  Moved to a host whose CPU lacks fma or
 * bmi2 while it believes they are there, it dies with SIGILL; started with
 * them masked, it takes the plain path and runs anywhere.
 *
 * usage: cpuwork [TICKS]
 */
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int use_fast;

static void on_sigill(int sig)
{
	static const char msg[] = "cpuwork: killed by SIGILL: the CPU refused "
	    "an instruction CPUID had offered\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(132);
	_exit(132);
}

static int cpu_offers_fma_bmi2(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 12)))
		return 0;
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & (1u << 8)) != 0;
}

static double step_fast(double x, uint64_t *bits)
{
	double y = 1.0000001, z = 0.5;
	uint64_t mask = 0x5555555555555555ull, r;

	__asm__ volatile("vfmadd231sd %2, %1, %0" : "+x"(x) : "x"(y), "x"(z));
	__asm__ volatile("pdep %2, %1, %0" : "=r"(r) : "r"(*bits), "r"(mask));
	*bits = r ^ (*bits + 1);
	return x;
}

static double step_plain(double x, uint64_t *bits)
{
	uint64_t src = *bits, mask = 0x5555555555555555ull, r = 0, k;

	x = x + 1.0000001 * 0.5;
	for (k = 1; mask != 0; k <<= 1) {
		uint64_t low = mask & -mask;

		if (src & k)
			r |= low;
		mask &= mask - 1;
	}
	*bits = r ^ (*bits + 1);
	return x;
}

int main(int argc, char *argv[])
{
	long ticks = argc > 1 ? strtol(argv[1], NULL, 10) : -1, n;
	uint64_t bits = 1;
	double x = 0;
	time_t last = 0;

	signal(SIGILL, on_sigill);
	setvbuf(stdout, NULL, _IOLBF, 0);
	use_fast = cpu_offers_fma_bmi2();
	printf("cpuwork: start path %s\n", use_fast ? "fma+bmi2" : "plain");
	for (n = 0; ticks < 0 || n < ticks;) {
		int i;

		for (i = 0; i < 100000; i++)
			x = use_fast ? step_fast(x, &bits) : step_plain(x, &bits);
		if (time(NULL) != last) {
			last = time(NULL);
			printf("cpuwork: tick %ld path %s sum %.1f\n", n++,
			    use_fast ? "fma+bmi2" : "plain", x);
		}
	}
	return 0;
}
