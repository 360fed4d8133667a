/*
 * useslib.c: a program for any x86-64 CPU that calls libblind's lib_pdep:
 * the invalid opcode happens in the library.
 */
#include <stdio.h>

unsigned int lib_pdep(unsigned int src, unsigned int mask);

int main(int argc, char **argv)
{
	(void)argv;
	printf("%u\n", lib_pdep((unsigned int)argc, 0xff00u));
	return 0;
}
