/* Test inputs that end where a page the process may not touch begins: a
 * kernel that reads past the end of an input (a whole vector loaded over
 * the last few floats of a plane) faults, where in a malloc'ed buffer the
 * read lands on heap memory unseen, and vector intrinsics escape ASan. */
#ifndef INFERD_TEST_GUARD_ALLOC_H
#define INFERD_TEST_GUARD_ALLOC_H

#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

static inline size_t guard_body(size_t n)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (n + page - 1) / page * page;
}

/* n bytes (at least 1) ending at a guard page; NULL when out of memory. The
 * start is 4-byte aligned for n a multiple of 4, not more: kernels load
 * inputs unaligned. */
static inline void *guard_alloc(size_t n)
{
    if (n == 0) n = 1;
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), body = guard_body(n);
    char *p = mmap(NULL, body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (mprotect(p + body, page, PROT_NONE) != 0) {
        munmap(p, body + page);
        return NULL;
    }
    return p + body - n;
}

/* Frees guard_alloc(n)'s p. */
static inline void guard_free(void *p, size_t n)
{
    if (!p) return;
    if (n == 0) n = 1;
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), body = guard_body(n);
    munmap((char *)p + n - body, body + page);
}

#endif
