/* SPDX-License-Identifier: MIT
 *
 * ds_util.h: small helpers shared by the data_sync, image_processing and
 * batch_processing packs: lenient typed reads of normalised JSON records
 * (1688 sends numbers as strings and booleans as "false"), the content
 * hash used for change detection, image URL keys, the ISO time stamp
 * written to the database, and a progress sink that lets the plain C
 * functions report to a task context or to a test.
 */
#ifndef SQ_DS_UTIL_H
#define SQ_DS_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

/* Integer member `key` of `obj` (borrowed): a JSON integer, a real with
 * an integral value, or a decimal string ("123", " 42 "). Returns true
 * and sets *out when present and valid; false when absent, null or not
 * an integer (then *out is untouched). */
bool sq_ds_get_i64(const json_t *obj, const char *key, int64_t *out);

/* Same for a real number (JSON number or numeric string). */
bool sq_ds_get_double(const json_t *obj, const char *key, double *out);

/* Boolean: true/false, 0/1, "true"/"false"/"1"/"0"/"yes"/"no". */
bool sq_ds_get_bool(const json_t *obj, const char *key, bool *out);

/* String member (borrowed from `obj`), NULL when absent/null/not text.
 * Empty strings are returned as "" (callers decide). */
const char *sq_ds_get_str(const json_t *obj, const char *key);

/* Lowercase hex SHA-256 of the canonical JSON of `rec` (keys sorted,
 * compact) without the volatile members fetched_at and raw_sha256, so
 * two fetches of the same content hash equal. out: 65 bytes.
 * Errors: SYNCQ_ENOMEM. */
int sq_ds_content_hash(const json_t *rec, char out[65], syncq_error *err);

/* The same idea for a canonical record (sq_ds_offer_canonical,
 * sq_ds_supplier_canonical), whose members always come in one fixed
 * order: hashes the compact JSON in that order, streaming, without
 * copying or sorting (several times faster). Only comparable with other
 * canonical hashes. out: 65 bytes. Errors: SYNCQ_ENOMEM. */
int sq_ds_canonical_hash(const json_t *rec, char out[65], syncq_error *err);

/* True if `n` bytes at `s` are a JSON text jansson accepts (an object or
 * array root, UTF-8, no \u0000, 64-bit integers, finite reals, nesting
 * <= 2048). Allocates nothing. */
bool sq_ds_json_valid(const char *s, size_t n);

/* Parse JSON text (object or array root). *out: new reference on
 * SYNCQ_OK. A text that is not JSON gives SYNCQ_EINVAL with the reason in
 * msg (err untouched); a text that is valid but could not be parsed
 * (jansson ran out of memory, which it reports as a syntax error) gives
 * SYNCQ_ENOMEM in err. */
int sq_ds_json_parse(const char *s, size_t n, json_t **out, char *msg,
                     size_t cap, syncq_error *err);

/* Normalise an image URL into its identity key (docs/database.md):
 * trimmed; "//host/x" gets "https:"; a relative "img/ibank/..." gets
 * "https://cbu01.alicdn.com/"; scheme and host lowercased; alicdn hosts
 * use https and cbu01 for any cbu0N mirror; the fragment dropped; size
 * suffixes (".220x220.jpg", "_460x460q100.jpg", ".search.jpg",
 * ".summ.jpg") stripped. Writes at most cap-1 bytes.
 * Errors: SYNCQ_EINVAL (empty, not http(s), too long). */
int sq_ds_image_url_key(const char *url, char *out, size_t cap,
                        syncq_error *err);

/* Current UTC time as 2026-12-01T02:00:00.123Z (buf >= 32 bytes). */
const char *sq_ds_now_iso(char *buf, size_t cap);

/* Where long-running functions report progress. All members may be
 * NULL. fn returns 0 to carry on, non-zero to stop (lease lost). */
struct sq_progress {
    int (*fn)(void *ud, int64_t current, int64_t total, const char *msg);
    bool (*stop)(void *ud); /* true: checkpoint and return early */
    void *ud;
};

/* Report through `p` (may be NULL). Returns what fn returned, or 0. */
int sq_progress_report(const struct sq_progress *p, int64_t current,
                       int64_t total, const char *msg);

/* True when `p` asks to stop. */
bool sq_progress_stop(const struct sq_progress *p);

/* ---- task arguments --------------------------------------------------
 * A task argument is kwargs[name], else args[pos] (pos < 0: keyword
 * only), so both the seed's positional calls and keyword calls work. */

/* Borrowed; NULL when absent or JSON null. */
const json_t *sq_task_arg(const json_t *args, const json_t *kwargs,
                          const char *name, int pos);

/* Reject a keyword not in `allowed` (NULL-terminated) and more than
 * `npos` positional arguments. Errors: SYNCQ_EINVAL naming the argument
 * and listing the accepted ones. */
int sq_task_args_check(const json_t *args, const json_t *kwargs,
                       const char *const *allowed, size_t npos,
                       syncq_error *err);

/* Typed reads with a default; a present value of the wrong type or out
 * of range is SYNCQ_EINVAL naming the argument. */
int sq_task_arg_bool(const json_t *args, const json_t *kwargs, const char *name,
                     int pos, bool def, bool *out, syncq_error *err);
int sq_task_arg_int(const json_t *args, const json_t *kwargs, const char *name,
                    int pos, int64_t def, int64_t min, int64_t max,
                    int64_t *out, syncq_error *err);
/* String (borrowed from the arguments, or `def`). */
int sq_task_arg_str(const json_t *args, const json_t *kwargs, const char *name,
                    int pos, const char *def, const char **out,
                    syncq_error *err);

#endif
