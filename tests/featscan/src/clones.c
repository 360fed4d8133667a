/*
 * clones.c: GCC's target_clones: an AVX2 clone and a default one, chosen
 * by a resolver GCC writes.
 */
#include <stdio.h>
#include <stdlib.h>

__attribute__((target_clones("avx2", "default"), noinline))
void scale(float *y, const float *x, float a, int n)
{
	int i;

	for (i = 0; i < n; i++)
		y[i] = a * x[i] + y[i];
}

int main(int argc, char **argv)
{
	float x[256], y[256];
	int i;

	for (i = 0; i < 256; i++) {
		x[i] = (float)i;
		y[i] = (float)argc;
	}
	scale(y, x, argc > 1 ? strtof(argv[1], NULL) : 2.0f, 256);
	printf("%f\n", y[255]);
	return 0;
}
