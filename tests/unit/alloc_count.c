/* Counts heap allocations in a test binary, to prove a packet path
 * allocates nothing. Under ASan its allocator reports every malloc through
 * a hook; otherwise glibc's allocator is interposed in the binary. */
#include <stddef.h>

#include "alloc_count.h"

volatile int count_allocs;
volatile unsigned long n_allocs;

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan, its allocator reports every malloc through this hook. */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
					      void (*f)(const volatile void *));
static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	(void)n;
	if (count_allocs)
		n_allocs++;
}
static void on_free(const volatile void *p)
{
	(void)p;
}
void alloc_counter_install(void)
{
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
/* Otherwise interpose glibc's allocator in this binary. */
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
void *malloc(size_t n)
{
	if (count_allocs)
		n_allocs++;
	return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
	if (count_allocs)
		n_allocs++;
	return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
	if (count_allocs)
		n_allocs++;
	return __libc_realloc(p, n);
}
void alloc_counter_install(void)
{
}
#endif

