/* SPDX-License-Identifier: MIT
 *
 * fuzz_alert_state.c: an alert state read back from Redis ({ns}:alerts,
 * one field's JSON, written by any evaluator or anything else) on any
 * bytes. The parser never crashes; what it accepts is a known state with
 * times in 0 .. year 9999, and stepping it through the state machine of
 * a few rules at a few values and times never overflows (UBSan) and
 * leaves a known state; what it refuses is a fresh inactive state.
 */
#include "monitor/mon_alerts.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
known(const struct sq_alert_state *st)
{
    if (st->state < SQ_AS_INACTIVE || st->state > SQ_AS_RESOLVED) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const rules[] = {
        "a: queue_depth > 5 for 1m keep 30s clear 2\n",
        "b: heartbeat_age >= 30s\n",
        "c: workers_alive < 1 for 365d keep 365d\n",
        "d: unserved_queues != 0\n",
    };
    static const double values[] = {0, 3, 10, NAN, INFINITY};
    static const int64_t nows[] = {0, 1700000000000LL, 253402300799999LL};
    struct sq_alert_state st, s2;
    int rc = sq_alert_state_parse((const char *)data, size, &st);

    known(&st);
    if (rc != SYNCQ_OK &&
        (st.state != SQ_AS_INACTIVE || st.since_ms != 0 ||
         st.fired_at_ms != 0 || st.clear_since_ms != 0)) {
        abort();
    }
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        struct sq_alert_rules r;
        if (sq_alert_rules_parse(rules[i], strlen(rules[i]), &r, NULL) !=
            SYNCQ_OK) {
            abort();
        }
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
            for (size_t n = 0; n < sizeof nows / sizeof nows[0]; n++) {
                int tr;
                s2 = st;
                tr = sq_alert_step(&r.r[0], &s2, values[v], nows[n]);
                if (tr != -1 && tr != SQ_AS_FIRING && tr != SQ_AS_RESOLVED) {
                    abort();
                }
                known(&s2);
            }
        }
        sq_alert_rules_cleanup(&r);
    }
    return 0;
}
