/* SPDX-License-Identifier: MIT
 *
 * fuzz_sched_file.c: the static schedule file (docs/beat.md "Schedule
 * file", `syncq schedule load`, loaded by every beat at start) on any
 * bytes, parsed and checked without Redis (sq_sched_file_parse with no
 * client). Invariants: no crash, leak or overflow; a refusal says why; an
 * accepted file gives named, compiled schedules whose next run can be
 * asked for from three anchors (none of which may crash or go
 * backwards), and each one's JSON view can be built.
 */
#include "beat/beat_store.h"
#include "sq_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t anchors[] = {0, 1700000000000LL, 4102444800000LL};
    struct sq_sched_defaults base;
    struct sq_schedule *ss = NULL;
    size_t n = 0;
    syncq_error err;
    int rc;

    memset(&base, 0, sizeof base);
    base.tz = "UTC";
    base.cap = 100;
    base.grace_ms = 60000;
    base.queue = "default";
    base.priority = 5;
    base.now_ms = 1700000000000LL;
    rc = sq_sched_file_parse(NULL, (const char *)data, size, "fuzz", &base,
                             &ss, &n, &err);
    if (rc != SYNCQ_OK) {
        if (ss != NULL || n != 0 || err.msg[0] == '\0') {
            abort();
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = sq_schedule_to_json(&ss[i]);
        if (ss[i].name[0] == '\0' || o == NULL) {
            abort();
        }
        json_decref(o);
        for (size_t a = 0; a < sizeof anchors / sizeof anchors[0]; a++) {
            int64_t next = 0;
            if (sq_schedule_next_after(&ss[i], anchors[a], &next) ==
                    SYNCQ_OK &&
                next <= anchors[a]) {
                abort();
            }
        }
        sq_schedule_cleanup(&ss[i]);
    }
    sq_free(ss);
    return 0;
}
