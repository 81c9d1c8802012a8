/* SPDX-License-Identifier: MIT
 *
 * mon_tokens.c: named per-person tokens (mon_tokens.h).
 */
#include "monitor/mon_tokens.h"
#include "sq_error.h"
#include "sq_hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
same_str(const char *a, const char *b)
{
    size_t n = strlen(a);
    unsigned char d = n == strlen(b) ? 0 : 1;

    for (size_t i = 0; i < n && b[i] != '\0'; i++) {
        d |= (unsigned char)(a[i] ^ b[i]);
    }
    return d == 0;
}

/* Check one parsed line and add it. */
static int
add_line(struct sq_tokens *t, const char *name, const char *role,
         const char *tok, const char *where, syncq_error *err)
{
    size_t nl = strlen(name), tl = strlen(tok);
    struct sq_token_ent *e;

    if (nl == 0 || nl > 32 ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_-") != nl) {
        return sq_fail(err, SYNCQ_EINVAL, "%s: name '%.40s': 1..32 of "
                       "A-Z a-z 0-9 _ -", where, name);
    }
    if (strcmp(role, "read") != 0 && strcmp(role, "write") != 0) {
        return sq_fail(err, SYNCQ_EINVAL, "%s: role '%.20s': read or write",
                       where, role);
    }
    if (tl < 16 || tl > 256) {
        return sq_fail(err, SYNCQ_EINVAL, "%s: the token of %s has %zu "
                       "characters: 16..256", where, name, tl);
    }
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->e[i].name, name) == 0) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: name %s given twice",
                           where, name);
        }
        if (same_str(t->e[i].token, tok)) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: the token of %s is the "
                           "token of %s too", where, name, t->e[i].name);
        }
    }
    if (t->n == SQ_TOKENS_MAX) {
        return sq_fail(err, SYNCQ_ETOOBIG, "%s: at most %d tokens", where,
                       SQ_TOKENS_MAX);
    }
    e = &t->e[t->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->role = role[0] == 'w' ? 'w' : 'r';
    snprintf(e->token, sizeof e->token, "%s", tok);
    return SYNCQ_OK;
}

int
sq_tokens_load(const char *path, struct sq_tokens *t, syncq_error *err)
{
    FILE *f = fopen(path, "r");
    char line[1024], where[300];
    int no = 0, rc = SYNCQ_OK;

    memset(t, 0, sizeof *t);
    if (f == NULL) {
        return sq_fail(err, SYNCQ_EIO, "SYNCQ_MONITOR_TOKENS_FILE %s: %s",
                       path, strerror(errno));
    }
    while (rc == SYNCQ_OK && fgets(line, sizeof line, f) != NULL) {
        char name[64] = "", role[16] = "", tok[300] = "", extra[2] = "";
        int got;
        no++;
        snprintf(where, sizeof where, "%.250s:%d", path, no);
        if (strchr(line, '\n') == NULL && !feof(f)) {
            rc = sq_fail(err, SYNCQ_EINVAL, "%s: line too long", where);
            break;
        }
        got = sscanf(line, " %63s %15s %299s %1s", name, role, tok, extra);
        if (got <= 0 || name[0] == '#') {
            continue;
        }
        if (got != 3) {
            rc = sq_fail(err, SYNCQ_EINVAL, "%s: expected NAME ROLE TOKEN",
                         where);
            break;
        }
        rc = add_line(t, name, role, tok, where, err);
    }
    fclose(f);
    if (rc == SYNCQ_OK && t->n == 0) {
        rc = sq_fail(err, SYNCQ_EINVAL, "SYNCQ_MONITOR_TOKENS_FILE %s: no "
                     "token in it", path);
    }
    return rc;
}

const struct sq_token_ent *
sq_tokens_find(const struct sq_tokens *t, const char *given)
{
    const struct sq_token_ent *hit = NULL;

    if (given == NULL || given[0] == '\0') {
        return NULL;
    }
    for (size_t i = 0; i < t->n; i++) { /* every entry: no early exit */
        if (same_str(t->e[i].token, given)) {
            hit = &t->e[i];
        }
    }
    return hit;
}

bool
sq_tokens_bearer(const char *auth, char *out, size_t cap)
{
    const char *p;
    size_t n;

    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
        return false;
    }
    p = auth + 7;
    p += strspn(p, " ");
    n = strcspn(p, " \t");
    if (n == 0 || n >= cap || p[n + strspn(p + n, " \t")] != '\0') {
        return false;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

void
sq_tokens_session(const struct sq_token_ent *e, int64_t exp_s,
                  char out[SQ_SESSION_MAX])
{
    char body[64], mac[65];
    int n = snprintf(body, sizeof body, "v2.%s.%lld", e->name,
                     (long long)exp_s);

    sq_hmac_sha256_hex(e->token, strlen(e->token), body, (size_t)n, mac);
    snprintf(out, SQ_SESSION_MAX, "%s.%s", body, mac);
}

/* The session cookie's value into out[cap]; false when absent. */
static bool
cookie_of(const char *hdr, char *out, size_t cap)
{
    const char *p = hdr;
    size_t nl = strlen(SQ_SESSION_COOKIE);

    while (p != NULL && *p != '\0') {
        p += strspn(p, " ;");
        if (strncmp(p, SQ_SESSION_COOKIE, nl) == 0 && p[nl] == '=') {
            size_t vl = strcspn(p + nl + 1, "; ");
            if (vl == 0 || vl >= cap) {
                return false;
            }
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

const struct sq_token_ent *
sq_tokens_check(const struct sq_tokens *t, const char *cookie_header,
                int64_t now_s)
{
    char v[SQ_SESSION_MAX], name[33], want[SQ_SESSION_MAX];
    const char *dot;
    char *end;
    long long exp;
    size_t nl;

    if (cookie_header == NULL || !cookie_of(cookie_header, v, sizeof v) ||
        strncmp(v, "v2.", 3) != 0) {
        return NULL;
    }
    dot = strchr(v + 3, '.');
    nl = dot != NULL ? (size_t)(dot - (v + 3)) : 0;
    if (nl == 0 || nl >= sizeof name) {
        return NULL;
    }
    memcpy(name, v + 3, nl);
    name[nl] = '\0';
    exp = strtoll(dot + 1, &end, 10);
    if (end == dot + 1 || *end != '.' || exp <= now_s) {
        return NULL;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->e[i].name, name) == 0) {
            sq_tokens_session(&t->e[i], exp, want);
            /* a failed HMAC (OpenSSL missing) gives zeros: never accept */
            if (strstr(want, "0000000000000000000000000000000000000000") ==
                    NULL &&
                same_str(want, v)) {
                return &t->e[i];
            }
            return NULL;
        }
    }
    return NULL;
}
