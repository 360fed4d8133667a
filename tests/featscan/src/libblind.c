/*
 * libblind.c: a shared library built with -mbmi2 whose exported function
 * uses pdep without asking CPUID.
 */
#include <immintrin.h>

unsigned int lib_pdep(unsigned int src, unsigned int mask);

unsigned int lib_pdep(unsigned int src, unsigned int mask)
{
	return _pdep_u32(src, mask);
}
