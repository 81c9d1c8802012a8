/* SPDX-License-Identifier: MIT
 *
 * fuzz_broker_url.c: any bytes as a broker URL: parse and redact, no
 * crash, leak or overflow; a parsed URL's fields stay NUL-terminated.
 */
#include "sq_alloc.h"
#include "sq_url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    struct sq_redis_url u;
    char *r;

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    if (sq_redis_url_parse(s, &u, NULL) == 0) {
        if (strlen(u.host) >= sizeof u.host || strlen(u.path) >= sizeof u.path) {
            abort();
        }
    }
    r = sq_url_redact(s);
    sq_free(r);
    free(s);
    return 0;
}
