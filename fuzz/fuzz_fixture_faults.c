/* SPDX-License-Identifier: MIT
 *
 * fuzz_fixture_faults.c: the fixture server's --faults SPEC and the
 * crawler's SYNCQ_CRAWLER_RATE syntax on any text. Accepted specs hold
 * their invariants (rule count, probabilities in (0, 1], counts >= 1,
 * durations bounded) and decide without crashing; accepted rates are in
 * range; refusals say why. No crash, leak or overflow.
 */
#include "sq_rate.h"
#include "fixture/fixture.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fx_fault_spec s;
    struct sq_rate r;
    long counters[FX_MAX_RULES] = {0};
    syncq_error err;
    char *text = malloc(size + 1);

    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (fx_faults_parse(text, &s, &err) == SYNCQ_OK) {
        if (s.n > FX_MAX_RULES) {
            abort();
        }
        for (size_t i = 0; i < s.n; i++) {
            const struct fx_fault_rule *x = &s.rules[i];
            if (x->kind <= FX_FAULT_NONE || x->kind >= FX_FAULT__COUNT ||
                (x->counted && x->count < 1) ||
                (!x->counted && !(x->p > 0 && x->p <= 1)) || x->param_ms < 0 ||
                x->param_ms > 600000 || x->burst_ms < 0 ||
                x->burst_ms > 600000) {
                abort();
            }
        }
        for (int route = 0; route < FX_ROUTE__COUNT; route++) {
            (void)fx_faults_decide(&s, 1, (enum fx_route_kind)route, text, 0,
                                   counters);
        }
    } else if (err.msg[0] == '\0') {
        abort();
    }
    if (sq_rate_parse(text, &r, &err) == SYNCQ_OK) {
        if (r.limit < 1 || r.limit > 1000000 || r.period_ms < 1 ||
            r.period_ms > 86400000) {
            abort();
        }
    }
    free(text);
    return 0;
}
