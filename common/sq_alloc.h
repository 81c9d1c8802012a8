/* SPDX-License-Identifier: MIT
 *
 * sq_alloc.h: every allocation of syncq goes through these, so a host can
 * replace the allocator (syncq_set_allocator) and tests can fail the Nth
 * allocation (sq_alloc_fail_at) to prove each error path frees cleanly.
 * jansson is routed through the same hooks.
 */
#ifndef SQ_ALLOC_H
#define SQ_ALLOC_H

#include <stddef.h>

void *sq_malloc(size_t n);
void *sq_calloc(size_t count, size_t n);
void *sq_realloc(void *p, size_t n);
void sq_free(void *p);
/* Owned copy of `s` (NULL in, NULL out); NULL on allocation failure. */
char *sq_strdup(const char *s);
/* Owned copy of the first `n` bytes of `s`, NUL-terminated. */
char *sq_strndup(const char *s, size_t n);
/* printf into a new owned string; NULL on failure. */
char *sq_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Tests: make allocation number `nth` (1-based, counted from this call) and
 * every later one fail; 0 switches injection off. Returns how many
 * allocations were counted (injection on) since the previous call. */
long sq_alloc_fail_at(long nth);

#endif
