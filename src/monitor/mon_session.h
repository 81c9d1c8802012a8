/* SPDX-License-Identifier: MIT
 *
 * mon_session.h: the dashboard's sign-in sessions. A browser that signs
 * in with a token gets a cookie "syncq_session=v1.<r|w>.<exp>.<mac>"
 * (HttpOnly, SameSite=Strict, Max-Age) where <mac> is HMAC-SHA256 of
 * "v1.<r|w>.<exp>" keyed with the token that signed in. Nothing is kept
 * on the server: a session outlives a restart of `monitor serve`, and
 * changing the token ends every session it made. The raw token never
 * goes into a cookie. API clients keep sending the bearer token.
 * Pure functions (no Redis, no HTTP): unit-tested in test_mon_session.c.
 */
#ifndef SQ_MON_SESSION_H
#define SQ_MON_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_SESSION_COOKIE "syncq_session"
#define SQ_SESSION_MAX 128 /* bytes of a cookie value, NUL included */

/* Who a request acts as: the token's name, for the action log. */
#define SQ_WHO_API "api-token"         /* SYNCQ_API_TOKEN */
#define SQ_WHO_MONITOR "monitor-token" /* SYNCQ_MONITOR_TOKEN */
#define SQ_WHO_LOOPBACK "loopback"     /* no token configured */

/* Make a session value for level 'w' (signed with the write token) or
 * 'r' (the read token) that expires at `exp_s` (Unix seconds) into
 * out[SQ_SESSION_MAX]. `key` is that token (non-empty). */
void sq_session_make(char level, int64_t exp_s, const char *key,
                     char out[SQ_SESSION_MAX]);

/* Check the "syncq_session" cookie in a Cookie header (may be NULL)
 * against the tokens ("" when unset) at `now_s`. Returns 'w', 'r' or 0
 * (no cookie, malformed, expired, or signed by no current token).
 * Constant-time in the MAC. */
char sq_session_check(const char *cookie_header, const char *read_token,
                      const char *write_token, int64_t now_s);

/* The level a token given at sign-in grants: 'w' for the write token,
 * 'r' for the read token, 0 for anything else. */
char sq_session_level_of(const char *given, const char *read_token,
                         const char *write_token);

/* A form field of an application/x-www-form-urlencoded body (`len`
 * bytes), decoded ('+' is a space, %XX a byte) into out[cap]. False when
 * absent, over cap-1 bytes, or holding a NUL or control byte. */
bool sq_session_form_field(const char *body, size_t len, const char *name,
                           char *out, size_t cap);

/* True when `next` is a safe place to send a browser after sign-in: a
 * local path ("/..." but not "//" or "/\"), printable ASCII, < 512
 * bytes. */
bool sq_session_next_ok(const char *next);

#endif
