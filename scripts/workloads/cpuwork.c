/*
 * cpuwork: a guest workload that picks its code path from CPUID, the way
 * glibc and PostgreSQL do, and keeps running.
 *
 * At start it reads CPUID once, as glibc does: it uses pdep when CPUID
 * offers bmi2, and vfmadd231sd when CPUID offers fma and the kernel has
 * enabled the YMM state in XCR0 (a VEX instruction faults without it);
 * else plain C.  Then it loops,
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

static int use_fma, use_bmi2;

static void on_sigill(int sig)
{
	static const char msg[] = "cpuwork: killed by SIGILL: the CPU refused "
	    "an instruction CPUID had offered\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(132);
	_exit(132);
}

/* What CPUID offers, and for fma whether the OS enabled the YMM state. */
static void probe(void)
{
	unsigned int a, b, c, d, xcr0 = 0, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return;
	if (c & (1u << 27)) {
		__asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
		(void)hi;
	}
	use_fma = (c & (1u << 12)) && (xcr0 & 6) == 6;
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		use_bmi2 = (b & (1u << 8)) != 0;
	}
}

static const char *path_name(void)
{
	if (use_fma && use_bmi2)
		return "fma+bmi2";
	if (use_bmi2)
		return "bmi2";
	if (use_fma)
		return "fma";
	return "plain";
}

static double step_fma(double x)
{
	double y = 1.0000001, z = 0.5;

	__asm__ volatile("vfmadd231sd %2, %1, %0" : "+x"(x) : "x"(y), "x"(z));
	return x;
}

static uint64_t step_pdep(uint64_t bits)
{
	uint64_t mask = 0x5555555555555555ull, r;

	__asm__ volatile("pdep %2, %1, %0" : "=r"(r) : "r"(bits), "r"(mask));
	return r ^ (bits + 1);
}

static double step_plain(double x)
{
	return x + 1.0000001 * 0.5;
}

static uint64_t pdep_plain(uint64_t bits)
{
	uint64_t mask = 0x5555555555555555ull, r = 0, k;

	for (k = 1; mask != 0; k <<= 1) {
		uint64_t low = mask & -mask;

		if (bits & k)
			r |= low;
		mask &= mask - 1;
	}
	return r ^ (bits + 1);
}

int main(int argc, char *argv[])
{
	long ticks = argc > 1 ? strtol(argv[1], NULL, 10) : -1, n;
	uint64_t bits = 1;
	double x = 0;
	time_t last = 0;

	signal(SIGILL, on_sigill);
	setvbuf(stdout, NULL, _IOLBF, 0);
	probe();
	printf("cpuwork: start path %s\n", path_name());
	for (n = 0; ticks < 0 || n < ticks;) {
		int i;

		struct timespec pause = { 0, 200 * 1000 * 1000 };

		for (i = 0; i < 20000; i++) {
			x = use_fma ? step_fma(x) : step_plain(x);
			bits = use_bmi2 ? step_pdep(bits) : pdep_plain(bits);
		}
		/* A workload, not a burner: leave the (emulated) CPU room. */
		nanosleep(&pause, NULL);
		if (time(NULL) != last) {
			last = time(NULL);
			printf("cpuwork: tick %ld path %s sum %.1f bits %016llx\n",
			    n++, path_name(), x, (unsigned long long)bits);
		}
	}
	return 0;
}
