/* SPDX-License-Identifier: MIT
 *
 * sq_id.h: task, batch and worker ids. UUID version 4 (RFC 9562 §5.4)
 * from getrandom(2), buffered; the buffer is dropped after fork() so a
 * parent and its children never hand out the same id.
 */
#ifndef SQ_ID_H
#define SQ_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_UUID_LEN 36 /* characters, without the NUL */

/* Write a new lowercase UUID v4 and a NUL into `out` (>= 37 bytes). */
void sq_uuid_new(char out[37]);

/* Write into `out` (>= 37 bytes) the UUID laid out as version 4 that is
 * the SHA-256 of "<seed>/<i>": the same seed and index always give the
 * same id, so a retried create derives the ids of its first try (the
 * task API's Idempotency-Key, a batch's chunks under a caller's batch
 * id). `seed` is at most 100 bytes of text. */
void sq_uuid_derive(const char *seed, size_t i, char out[37]);

/* True if `s` is a canonical UUID (8-4-4-4-12 hex, any version). */
bool sq_uuid_valid(const char *s);

/* Fill `n` bytes with random data (getrandom, buffered per thread and
 * refilled after a fork). Thread-safe. */
void sq_random_bytes(void *out, size_t n);

/* Uniform random integer in [0, bound) (bound > 0), without modulo bias. */
uint64_t sq_random_below(uint64_t bound);

#endif
