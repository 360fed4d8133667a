/*
 * hwcaps.c: a library built for x86-64-v3, to be installed in a
 * glibc-hwcaps/x86-64-v3 directory that the loader reads only on CPUs
 * of that level.
 */
float dot(const float *x, const float *y, int n);

float dot(const float *x, const float *y, int n)
{
	float s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += x[i] * y[i];
	return s;
}
