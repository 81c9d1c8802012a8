/* SPDX-License-Identifier: MIT
 *
 * syncq/syncq.h: umbrella header of the syncq C API.
 *
 *   syncq/error.h     error codes and syncq_error
 *   syncq/log.h       log handler
 *   syncq/config.h    settings (.env, environment, flags)
 *   syncq/client.h    producer API: tasks, batches, status
 *   syncq/pipeline.h  pipelined producer: many creates in flight
 *   syncq/task.h      writing tasks: registry, context, plugins
 *   syncq/spec.h      tasks, batches, schedules from JSON specs (bindings)
 * Subsystem headers (schedule.h, monitor.h, recovery.h, worker.h) are
 * included here too once present.
 */
#ifndef SYNCQ_SYNCQ_H
#define SYNCQ_SYNCQ_H

#include <stddef.h>
#include <syncq/batch.h>
#include <syncq/celery.h>
#include <syncq/client.h>
#include <syncq/config.h>
#include <syncq/error.h>
#include <syncq/log.h>
#include <syncq/monitor.h>
#include <syncq/pipeline.h>
#include <syncq/recovery.h>
#include <syncq/schedule.h>
#include <syncq/spec.h>
#include <syncq/summary.h>
#include <syncq/task.h>
#include <syncq/time.h>
#include <syncq/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Replace the allocator used by syncq and by jansson inside syncq (NULL
 * arguments restore the C library's). Call before any other syncq call;
 * not thread-safe. */
SYNCQ_API void syncq_set_allocator(void *(*malloc_fn)(size_t),
                                   void *(*realloc_fn)(void *, size_t),
                                   void (*free_fn)(void *));

/* Free memory that a syncq call returned as owned (char * results,
 * checkpoint buffers). NULL is a no-op. */
SYNCQ_API void syncq_free(void *p);

/* The library's version string, e.g. "0.1.0" (the project version of
 * the build). Never NULL; static storage, not to be freed; thread-safe. */
SYNCQ_API const char *syncq_version(void);

#ifdef __cplusplus
}
#endif
#endif
