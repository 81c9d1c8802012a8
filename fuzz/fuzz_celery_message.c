/* SPDX-License-Identifier: MIT
 *
 * fuzz_celery_message.c: the Celery message codec (src/celery/
 * celery_message.h) on any bytes. Every input gets a reject reason or a
 * decoded message whose fields hold what the decoder promises (args an
 * array, kwargs an object, priority 0..9, non-negative times and
 * retries); an accepted message is encoded again and decodes to the same
 * task, id, args and kwargs. The result-backend parser and the envelope
 * body reader get the same bytes. No crash, no leak, no abort.
 */
#include "celery/celery.h"
#include "celery/celery_message.h"
#include "sq_alloc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(const struct sq_celery_msg *m)
{
    struct sq_celery_out o;
    struct sq_celery_msg back;
    char id[201];
    char *s = NULL;

    memset(&o, 0, sizeof o);
    o.task = m->task;
    o.id = m->id;
    o.args = m->args;
    o.kwargs = m->kwargs;
    o.priority = m->priority;
    o.retries = m->retries;
    o.eta_ms = m->eta_ms;
    o.expires_ms = m->expires_ms;
    if (sq_celery_msg_encode(&o, &s, id, NULL) != SYNCQ_OK) {
        return; /* a name with control characters is refused */
    }
    if (sq_celery_msg_decode(s, strlen(s), &back) != SQ_CELERY_OK ||
        strcmp(back.task, m->task) != 0 || strcmp(back.id, m->id) != 0 ||
        !json_equal(back.args, m->args) ||
        !json_equal(back.kwargs, m->kwargs) ||
        back.priority != m->priority || back.retries != m->retries) {
        abort();
    }
    sq_celery_msg_cleanup(&back);
    sq_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sq_celery_msg m;
    enum sq_celery_reject r;
    json_t *o = NULL, *env;

    r = sq_celery_msg_decode((const char *)data, size, &m);
    if (r == SQ_CELERY_OK) {
        if (!json_is_array(m.args) || !json_is_object(m.kwargs) ||
            m.task == NULL || m.id == NULL || m.priority < 0 ||
            m.priority > 9 || m.eta_ms < 0 || m.expires_ms < 0 ||
            m.retries < 0) {
            abort();
        }
        round_trip(&m);
    } else if (m.detail[0] == '\0' ||
               strcmp(sq_celery_reject_name(r), "ok") == 0) {
        abort(); /* every reject says why */
    }
    sq_celery_msg_cleanup(&m);
    if (sq_celery_meta_parse("fuzz", (const char *)data, size, &o, NULL) ==
        SYNCQ_OK) {
        if (json_string_value(json_object_get(o, "state")) == NULL) {
            abort();
        }
        json_decref(o);
    }
    env = json_loadb((const char *)data, size, 0, NULL);
    json_decref(sq_celery_envelope_body(env));
    json_decref(env);
    return 0;
}
