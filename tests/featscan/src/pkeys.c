/*
 * pkeys.c: a program that writes PKRU only after the kernel gave it a
 * protection key, which it does only on a CPU with PKU.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <x86intrin.h>

__attribute__((target("pku"), noinline))
static void deny_all(int key)
{
	_wrpkru(3u << (2 * key));
}

int main(void)
{
	int key = pkey_alloc(0, 0);

	if (key < 0) {
		printf("no protection keys\n");
		return 0;
	}
	deny_all(key);
	printf("key %d\n", key);
	return 0;
}
