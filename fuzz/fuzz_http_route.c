/* SPDX-License-Identifier: MIT
 *
 * fuzz_http_route.c: the monitor server's request parsers on any bytes:
 * routing of METHOD + path, listen addresses, token (Authorization,
 * query, cookie) and Host checks. Input: "METHOD\npath\nauth\ncookie".
 * No crash, leak, overflow or out-of-range result.
 */
#include "monitor/mon_route.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *parts[4] = {"", "", "", ""};
    char *p;
    struct sq_route rt;
    struct sq_listen L;
    int st;

    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    p = buf;
    for (int i = 0; i < 4 && p != NULL; i++) {
        char *nl = strchr(p, '\n');
        parts[i] = p;
        if (nl != NULL) {
            *nl = '\0';
            p = nl + 1;
        } else {
            p = NULL;
        }
    }
    st = sq_mon_route_parse(parts[0], parts[1], &rt);
    if (st != 0 && st != 400 && st != 404 && st != 405) {
        abort();
    }
    if (strlen(rt.arg) >= sizeof rt.arg || rt.kind < SQ_R_NOT_FOUND ||
        rt.kind > SQ_R_ALERTS) {
        abort();
    }
    if (sq_mon_listen_parse(parts[1], &L, NULL) == SYNCQ_OK &&
        (L.port < 0 || L.port > 65535)) {
        abort();
    }
    (void)sq_mon_token_ok("s3cret-token", parts[2], parts[3], parts[3]);
    (void)sq_mon_token_ok(parts[2], "Bearer x", NULL, parts[3]);
    (void)sq_mon_host_is_loopback(parts[1]);
    free(buf);
    return 0;
}
