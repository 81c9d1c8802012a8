/* SPDX-License-Identifier: MIT
 *
 * fuzz_worker_raw.c: classification of foreign queue entries (C36): raw
 * bytes, JSON, plain and Celery/kombu envelopes (base64 bodies). Every
 * input gets a kind and a reason code; adopted envelopes come out as
 * valid JSON text. No crash, no leak.
 */
#include "worker/worker.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sq_raw_task t;
    const char *reason = NULL;
    enum sq_raw_kind k;

    k = sq_raw_classify((const char *)data, size, syncq_registry_default(),
                        &t, &reason);
    if (reason == NULL) {
        abort(); /* a reason code is always given */
    }
    if (k == SQ_RAW_ADOPT) {
        json_t *a = json_loads(t.args_json, 0, NULL);
        json_t *kw = json_loads(t.kwargs_json, 0, NULL);
        if (!json_is_array(a) || !json_is_object(kw)) {
            abort();
        }
        json_decref(a);
        json_decref(kw);
        sq_raw_task_cleanup(&t);
    }
    return 0;
}
