/* SPDX-License-Identifier: MIT
 *
 * fuzz_checkpoint.c: any bytes as a stored checkpoint envelope
 * ("SQCP1 <seq> <at_ms> <size> <sha256>\n<data>", recovery.h): the parser
 * never crashes or reads past the input; an entry it calls good really
 * has a matching size and checksum, and a good envelope rebuilt from the
 * parsed fields parses back to the same fields.
 */
#include "recovery/recovery.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sq_checkpoint_entry e, e2;
    char sha[65];
    char head[200];
    unsigned char *copy, *env;
    int n;

    /* a private copy: the parser must stay inside [copy, copy + size) */
    copy = malloc(size > 0 ? size : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    sq_checkpoint_parse(copy, size, &e);
    if (e.ok) {
        if (e.data_len != e.size || e.data < copy ||
            e.data + e.data_len != copy + size || e.why != NULL) {
            abort();
        }
        if (!sq_checkpoint_digest(e.seq, e.data, e.data_len, sha) ||
            strcmp(sha, e.sha256) != 0) {
            abort();
        }
    } else if (e.why == NULL) {
        abort();
    }
    /* round trip: the envelope of (seq, data) written the way
     * checkpoint_save.lua writes it must parse as good */
    n = snprintf(head, sizeof head, "SQCP1 %lld 1700000000000 %zu ",
                 (long long)(e.seq >= 0 ? e.seq : 0), size);
    if (n > 0 && (size_t)n < sizeof head &&
        sq_checkpoint_digest(e.seq >= 0 ? e.seq : 0, copy, size, sha)) {
        env = malloc((size_t)n + 65 + size);
        if (env != NULL) {
            memcpy(env, head, (size_t)n);
            memcpy(env + n, sha, 64);
            env[n + 64] = '\n';
            memcpy(env + n + 65, copy, size);
            sq_checkpoint_parse(env, (size_t)n + 65 + size, &e2);
            if (!e2.ok || e2.data_len != size ||
                e2.seq != (e.seq >= 0 ? e.seq : 0) ||
                memcmp(e2.data, copy, size) != 0) {
                abort();
            }
            free(env);
        }
    }
    free(copy);
    return 0;
}
