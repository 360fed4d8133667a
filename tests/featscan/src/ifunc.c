/*
 * ifunc.c: an IFUNC whose resolver picks the BMI2 version when the CPU
 * has it (the dispatch glibc uses for its string functions).
 */
#include <immintrin.h>
#include <stdio.h>

typedef unsigned int deposit_fn(unsigned int, unsigned int);

__attribute__((target("bmi2")))
static unsigned int deposit_bmi2(unsigned int src, unsigned int mask)
{
	return _pdep_u32(src, mask);
}

static unsigned int deposit_plain(unsigned int src, unsigned int mask)
{
	unsigned int r = 0, bit;

	for (bit = 1; mask != 0; bit <<= 1, mask &= mask - 1)
		if (src & bit)
			r |= mask & -mask;
	return r;
}

static deposit_fn *resolve_deposit(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("bmi2") ? deposit_bmi2 : deposit_plain;
}

unsigned int deposit(unsigned int src, unsigned int mask)
    __attribute__((ifunc("resolve_deposit")));

int main(int argc, char **argv)
{
	(void)argv;
	printf("%u\n", deposit((unsigned int)argc, 0xff00u));
	return 0;
}
