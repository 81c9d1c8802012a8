/* SPDX-License-Identifier: MIT
 *
 * fuzz_alert_rules.c: the alert rules parser on any bytes (file format
 * in docs/monitor.md). Parsed rules must hold their invariants: known
 * metric and op, names NUL-terminated, clear on the ok side, windows in
 * range. No crash, leak or overflow.
 */
#include "monitor/mon_alerts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sq_alert_rules r;
    syncq_error err;

    if (sq_alert_rules_parse((const char *)data, size, &r, &err) !=
        SYNCQ_OK) {
        if (r.n != 0 || r.r != NULL || err.msg[0] == '\0') {
            abort();
        }
        return 0;
    }
    for (size_t i = 0; i < r.n; i++) {
        const struct sq_alert_rule *x = &r.r[i];
        struct sq_alert_state st;
        if (x->metric < 0 || x->metric >= SQ_AM__COUNT || x->op < 0 ||
            x->op > SQ_OP_NE || strlen(x->name) == 0 ||
            strlen(x->name) >= sizeof x->name ||
            x->window_ms < 60000 || x->window_ms > 3600000 ||
            x->for_ms < 0 || x->keep_ms < 0) {
            abort();
        }
        memset(&st, 0, sizeof st);
        (void)sq_alert_step(x, &st, x->threshold, 0);
        (void)sq_alert_step(x, &st, x->clear, x->for_ms + 1);
    }
    sq_alert_rules_cleanup(&r);
    return 0;
}
