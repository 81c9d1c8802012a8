/* SPDX-License-Identifier: MIT
 *
 * broker_script_keys.h: the keys each broker script declares (KEYS[2..],
 * after {ns}:meta) so that Redis Cluster routes and checks it as it does
 * a plain command (docs/redis-keys.md "Declared keys").
 */
#ifndef SQ_BROKER_SCRIPT_KEYS_H
#define SQ_BROKER_SCRIPT_KEYS_H

#include "broker/broker.h"
#include "sq_buf.h"

#include <stdbool.h>
#include <stddef.h>

/* Whether script `id` declares the same keys on every call (none taken
 * from its arguments): they may be made once per prefix. */
bool sq_script_keys_fixed(enum sq_script_id id);

/* Append to `out` the keys script `id` declares after {ns}:meta, each
 * ended by a NUL: "<prefix><name>", names taken from the call's
 * arguments `a` (a->argv[0] is the script's ARGV[2]). Returns the number
 * of keys appended, or -1 when out of memory. Thread-safe (no state). */
int sq_script_keys(const char *prefix, enum sq_script_id id,
                   const struct sq_args *a, struct sq_buf *out);

/* True when script `id` declares every key it touches (it derives none
 * from what it reads): under a slot migration it may follow ASK with
 * ASKING like a plain command. False for the others, which also declare
 * {ns}:absent (a key that never exists) so that Redis never runs them
 * while their slot is being migrated. */
bool sq_script_ask_safe(enum sq_script_id id);

/* The script a FCALL (function name) or EVALSHA (SHA-1) names: its id,
 * or -1 when it names none of ours. `c` gives the loaded SHA-1s. */
int sq_script_named(const syncq_client *c, const char *name, size_t n);

/* The composed function library (FUNCTION LOAD text) and its length;
 * NULL before the first connect composed it (broker_script.c). */
const char *sq_script_library(size_t *len);

#endif
