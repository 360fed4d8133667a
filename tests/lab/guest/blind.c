/*
 * blind: a guest program built for a newer CPU that never asks CPUID, as
 * code built with -march=native or -mbmi2 does.  It runs pdep (bmi2) in
 * a loop and prints "blind: tick N sum S" about once a second, forever or
 * for the given number of ticks.
 *
 * Under a cpuid= line that hides bmi2 it still runs on host A: the mask
 * changes what CPUID says, not what the CPU executes.  On a host whose
 * CPU lacks bmi2 (the lab's host B) the first pdep raises #UD and the
 * guest kernel kills it with SIGILL, printing its trap line ("traps:
 * blind[PID] trap invalid opcode ip:... in blind[...]").  No handler is
 * installed, so that the kernel's line is what reports it.
 *
 * usage: blind [TICKS]
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Not inlined, so that the fault lands in a function with a name. */
__attribute__((noinline)) static uint64_t scatter(uint64_t x, uint64_t mask)
{
	return _pdep_u64(x, mask);
}

int main(int argc, char *argv[])
{
	long ticks = argc > 1 ? strtol(argv[1], NULL, 10) : -1;
	volatile uint64_t sum = 0;
	struct timespec pause = { 1, 0 };
	long t, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (t = 1; ticks < 0 || t <= ticks; t++) {
		for (i = 0; i < 100000; i++)
			sum += scatter((uint64_t)i, 0x5555555555555555ull);
		printf("blind: tick %ld sum %llu\n", t, (unsigned long long)sum);
		nanosleep(&pause, NULL);
	}
	return 0;
}
