/*
 * cpuidlib.c: a library that asks CPUID in one function and has AVX2 in
 * another, which it exports: its callers are meant to ask first.
 */
#include <cpuid.h>

int has_avx2(void);
void add_all(int *x, const int *y);

int has_avx2(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 5) & 1;
}

__attribute__((target("avx2")))
void add_all(int *x, const int *y)
{
	int i;

	for (i = 0; i < 64; i++)
		x[i] += y[i];
}
