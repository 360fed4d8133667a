/*
 * cpusupports.c: main asks __builtin_cpu_supports before it calls the
 * BMI2 version of a function (the dispatch GCC documents), which calls
 * another.
 */
#include <immintrin.h>
#include <stdio.h>

/* Reached only through with_bmi2: guarded too. */
__attribute__((target("bmi2"), noinline))
static unsigned int deposit_both(unsigned int src, unsigned int mask)
{
	return _pdep_u32(src, mask) ^ _pdep_u32(~src, mask);
}

__attribute__((target("bmi2"), noinline))
static unsigned int with_bmi2(unsigned int src, unsigned int mask)
{
	return deposit_both(src, mask) + _pdep_u32(src, ~mask);
}

__attribute__((noinline))
static unsigned int without_bmi2(unsigned int src, unsigned int mask)
{
	unsigned int r = 0, bit;

	for (bit = 1; mask != 0; bit <<= 1, mask &= mask - 1)
		if (src & bit)
			r |= mask & -mask;
	return r;
}

int main(int argc, char **argv)
{
	unsigned int r;

	(void)argv;
	if (__builtin_cpu_supports("bmi2"))
		r = with_bmi2((unsigned int)argc, 0xff00u);
	else
		r = without_bmi2((unsigned int)argc, 0xff00u);
	printf("%u\n", r);
	return 0;
}
