/*
 * blind.c: a program built with -mbmi2 that never asks CPUID: on a CPU
 * without BMI2 it dies of an invalid opcode in main.
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	unsigned int mask = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 0) :
	    0xff00u;

	printf("%u\n", _pdep_u32((unsigned int)argc, mask));
	return 0;
}
