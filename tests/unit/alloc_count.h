/* Allocation counter for tests: set count_allocs = 1 around the code under
 * test; n_allocs counts every malloc/calloc/realloc meanwhile. */
#ifndef TEST_ALLOC_COUNT_H
#define TEST_ALLOC_COUNT_H

extern volatile int count_allocs;
extern volatile unsigned long n_allocs;
/* Installs the ASan hook (no-op when glibc's allocator is interposed). */
void alloc_counter_install(void);

#endif
