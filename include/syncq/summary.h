/* SPDX-License-Identifier: MIT
 *
 * syncq/summary.h: named summaries a task pack publishes for people to
 * read, kept in Redis under the namespace and shown by the dashboard.
 * The monitor knows nothing of what a summary means: it renders the
 * summaries of a kind it has a page for (kind "catalog": the Catalog
 * page, docs/dashboard.md) and serves every kind at
 * GET /api/summaries/<kind>. A pack publishes one summary per thing it
 * reports on (the data_sync pack: one per 1688 category, key the
 * category id), replacing the previous one of that key.
 *
 * Storage: one Redis hash per kind, {ns}:summary:<kind>, field = key,
 * value = the summary as compact JSON with "published_at" (ISO 8601 UTC,
 * ms) added. Nothing expires: a key stays until it is published again
 * or deleted (syncq_summary_del).
 *
 * Bounds: kind 1..32 bytes of a-z 0-9 _ starting with a letter; key
 * 1..128 bytes without control characters; a summary is a JSON object
 * of at most SYNCQ_SUMMARY_MAX_BYTES serialized; at most
 * SYNCQ_SUMMARY_MAX_KEYS keys per kind (a new key past it is refused and
 * not stored; concurrent publishers of new keys may pass the bound by
 * their number for the instant between the write and its check).
 *
 * Thread-safety: as the client's (a syncq_client is used by one thread at
 * a time; in a task, syncq_ctx_client). Arguments are borrowed and not
 * kept; results are new and owned by the caller.
 */
#ifndef SYNCQ_SUMMARY_H
#define SYNCQ_SUMMARY_H

#include <jansson.h>
#include <syncq/client.h>
#include <syncq/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYNCQ_SUMMARY_MAX_BYTES 16384 /* one summary, serialized */
#define SYNCQ_SUMMARY_MAX_KEYS 1000   /* keys of one kind */

/* Publish (create or replace) summary `key` of `kind`: `summary` must be
 * a JSON object (borrowed; not changed). One Redis round trip for a known
 * key, two for a new one.
 * Errors: SYNCQ_EINVAL (bad kind or key, not an object: the message says
 *         which), SYNCQ_ETOOBIG (over SYNCQ_SUMMARY_MAX_BYTES, or a new
 *         key past SYNCQ_SUMMARY_MAX_KEYS), SYNCQ_ECONN, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_summary_put(syncq_client *c, const char *kind,
                                const char *key, const json_t *summary,
                                syncq_error *err);

/* Every summary of `kind`: *out a new object {key: summary} (empty when
 * none; caller json_decref's). A stored value that is not a JSON object
 * (written around this API) is skipped.
 * Errors: SYNCQ_EINVAL (bad kind), SYNCQ_ECONN, SYNCQ_ENOMEM. */
SYNCQ_API int syncq_summary_get(syncq_client *c, const char *kind,
                                json_t **out, syncq_error *err);

/* Delete summary `key` of `kind` (no error when absent).
 * Errors: SYNCQ_EINVAL, SYNCQ_ECONN. */
SYNCQ_API int syncq_summary_del(syncq_client *c, const char *kind,
                                const char *key, syncq_error *err);

#ifdef __cplusplus
}
#endif

#endif
