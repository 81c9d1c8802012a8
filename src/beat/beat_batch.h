/* SPDX-License-Identifier: MIT
 *
 * beat_batch.h: batches in waves, internal entry points (the public ones
 * are syncq_batch_submit & co. in syncq/schedule.h).
 */
#ifndef SQ_BEAT_BATCH_H
#define SQ_BEAT_BATCH_H

#include <jansson.h>
#include <stddef.h>
#include <syncq/client.h>
#include <syncq/schedule.h>

/* syncq_batch_submit with the items already parsed (`items` borrowed, a
 * JSON array), so the CLI does not serialise a large items file twice.
 * ids_out (may be NULL): the chunk task ids are appended to this array,
 * in chunk order. */
int sq_batch_submit_items(syncq_client *c, const char *task_name, json_t *items,
                          size_t batch_size, const syncq_batch_options *opts,
                          const syncq_batch_wave_options *waves,
                          char batch_id_out[SYNCQ_ID_SIZE], json_t *ids_out,
                          syncq_error *err);

#endif
