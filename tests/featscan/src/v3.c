/*
 * v3.c: a program built for x86-64-v3: the compiler uses AVX2, FMA,
 * BMI1/2 and the rest wherever it likes, with no check.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	double a[1024], s = 0;
	unsigned int n = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 0) : 7;
	int i;

	for (i = 0; i < 1024; i++)
		a[i] = i * (double)n;
	for (i = 0; i < 1024; i++)
		s += a[i] * a[i] + 1.5;
	printf("%f %d %u\n", s, __builtin_popcount(n), n >> (n & 7));
	return 0;
}
