/*
 * avx2check: refuse to run without avx2, checking CPUID the way software
 * does before it takes an AVX2 code path (leaf 7 subleaf 0, ebx bit 5).
 * Exit 0 when CPUID offers avx2, 1 when it does not.  It also prints the
 * XCR0 the guest kernel enabled, for the lab's log.
 */
#include <cpuid.h>
#include <stdio.h>

int main(void)
{
	unsigned int a, b, c, d, lo = 0, hi = 0;

	if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27)))
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	printf("avx2check: xcr0 %#x\n", lo);
	if (__get_cpuid_max(0, NULL) < 7) {
		puts("avx2check: CPU ISA level is lower than required (no leaf 7)");
		return 1;
	}
	__cpuid_count(7, 0, a, b, c, d);
	if (!(b & (1u << 5))) {
		puts("avx2check: CPU ISA level is lower than required (no avx2)");
		return 1;
	}
	puts("avx2check: avx2 present");
	return 0;
}
