/* SPDX-License-Identifier: MIT
 *
 * fuzz_sentry_dsn.c: the Sentry DSN parser (SYNCQ_SENTRY_DSN) on any
 * bytes. A DSN that parses has an http(s) scheme, a key, a host, a
 * digits-only project and an envelope URL ending in /envelope/; its public
 * form never holds the secret; the auth header is built without overflow.
 */
#include "monitor/mon_sentry.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sq_sentry_dsn d;
    syncq_error err;
    char *dsn = malloc(size + 1);
    char auth[1024];
    size_t n;

    if (dsn == NULL) {
        return 0;
    }
    memcpy(dsn, data, size);
    dsn[size] = '\0';
    if (sq_sentry_dsn_parse(dsn, &d, &err) == SYNCQ_OK) {
        n = strlen(d.envelope_url);
        if ((strcmp(d.scheme, "http") != 0 &&
             strcmp(d.scheme, "https") != 0) ||
            d.key[0] == '\0' || d.host[0] == '\0' || d.project[0] == '\0' ||
            strspn(d.project, "0123456789") != strlen(d.project) ||
            n < 10 || strcmp(d.envelope_url + n - 10, "/envelope/") != 0) {
            abort();
        }
        if (d.secret[0] != '\0') {
            /* the authority of the public form holds no secret (the path
             * may hold any text, the secret's included) */
            const char *a = strstr(d.dsn_public, "://");
            size_t alen = a != NULL ? strcspn(a + 3, "/") : 0;
            char shown[140];
            snprintf(shown, sizeof shown, ":%s@", d.secret);
            if (a != NULL && memmem(a + 3, alen, shown, strlen(shown))) {
                abort();
            }
        }
        sq_sentry_auth_header(&d, auth, sizeof auth);
        if (strlen(auth) >= sizeof auth) {
            abort();
        }
    }
    free(dsn);
    return 0;
}
