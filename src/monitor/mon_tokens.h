/* SPDX-License-Identifier: MIT
 *
 * mon_tokens.h: named per-person tokens of the dashboard and the task API
 * (SYNCQ_MONITOR_TOKENS_FILE). Each token has a name and a role: "read"
 * (look) or "write" (look and act). A request carrying one (bearer,
 * ?token=) acts as that name; a browser that signs in with one gets a
 * session cookie that carries the name:
 *
 *     syncq_session=v2.<name>.<exp>.<mac>
 *
 * where <mac> is HMAC-SHA256 of "v2.<name>.<exp>" keyed with that
 * person's token. As with the v1 sessions of the two shared tokens
 * (mon_session.h) nothing is kept on the server; removing a line or
 * changing its token ends that person's sessions at the next restart of
 * `monitor serve`, and the role always comes from the file, never from
 * the cookie. Every action is logged with the name (monitor.action
 * who=<name>).
 *
 * File: one token a line, "NAME ROLE TOKEN" separated by blanks; blank
 * lines and lines starting with '#' are skipped. NAME: 1..32 of
 * A-Z a-z 0-9 _ - (unique); ROLE: read or write; TOKEN: 16..256
 * printable non-blank ASCII (unique). At most SQ_TOKENS_MAX lines.
 * Pure functions over loaded data; the loaded set is read-only after
 * start, so any thread may call them.
 */
#ifndef SQ_MON_TOKENS_H
#define SQ_MON_TOKENS_H

#include "monitor/mon_session.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

#define SQ_TOKENS_MAX 64

struct sq_token_ent {
    char name[33];
    char role;       /* 'r' or 'w' */
    char token[257];
};

struct sq_tokens {
    struct sq_token_ent e[SQ_TOKENS_MAX];
    size_t n;
};

/* Load `path` into *t (emptied first).
 * Errors: SYNCQ_EIO (cannot read it), SYNCQ_EINVAL ("<path>:<line>:
 *         ..." naming what is wrong), SYNCQ_ETOOBIG (more lines). */
int sq_tokens_load(const char *path, struct sq_tokens *t, syncq_error *err);

/* The entry whose token is `given` (compared in constant time), or
 * NULL. `given` may be NULL. */
const struct sq_token_ent *sq_tokens_find(const struct sq_tokens *t,
                                          const char *given);

/* The token of an "Authorization: Bearer T" header into out[cap]; false
 * when absent or malformed. */
bool sq_tokens_bearer(const char *auth, char *out, size_t cap);

/* A v2 session value for entry `e` expiring at exp_s (Unix seconds). */
void sq_tokens_session(const struct sq_token_ent *e, int64_t exp_s,
                       char out[SQ_SESSION_MAX]);

/* The entry a v2 "syncq_session" cookie in `cookie_header` (may be NULL)
 * was signed for, if valid and not expired at now_s; else NULL. */
const struct sq_token_ent *sq_tokens_check(const struct sq_tokens *t,
                                           const char *cookie_header,
                                           int64_t now_s);

#endif
