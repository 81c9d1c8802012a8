/* SPDX-License-Identifier: MIT
 *
 * crawler_sign.h: requests to the 1688 Open Platform gateway: the URL
 * layout {base}/param2/1/<namespace>/<apiName>/<appKey>, the request
 * parameters (form-encoded, structured ones as JSON text) and their
 * signature `_aop_signature` as the official SDK computes it
 * (aop/api/base.py, https://open.1688.com/api/sysSignature.htm):
 *
 *   sign = UPPER(HEX(HMAC_SHA1(appSecret,
 *              "param2/1/<ns>/<api>/<appKey>" + join(sort(k + v)))))
 *
 * where every parameter except _aop_signature (access_token and
 * _aop_timestamp included) contributes the string key+value, and those
 * strings are sorted byte-wise (the SDK sorts the k+v strings, not the
 * keys; the two differ only when one key is a prefix of another).
 */
#ifndef SQ_CRAWLER_SIGN_H
#define SQ_CRAWLER_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

#define SQ_AOP_MAX_PARAMS 32

/* One request parameter; strings owned by the list. */
struct sq_aop_param {
    char *key;
    char *value;
};

/* The parameters of one gateway call. */
struct sq_aop_params {
    struct sq_aop_param p[SQ_AOP_MAX_PARAMS];
    size_t n;
};

void sq_aop_params_init(struct sq_aop_params *ps);
void sq_aop_params_cleanup(struct sq_aop_params *ps);

/* Add (or replace) `key` = `value` (both copied).
 * Errors: SYNCQ_EINVAL (empty key, more than SQ_AOP_MAX_PARAMS),
 * SYNCQ_ENOMEM. */
int sq_aop_params_set(struct sq_aop_params *ps, const char *key,
                      const char *value, syncq_error *err);

/* The value of `key`, or NULL. Borrowed. */
const char *sq_aop_params_get(const struct sq_aop_params *ps, const char *key);

/* The sign path "param2/1/<ns>/<api>/<appKey>" into out (cap bytes).
 * Errors: SYNCQ_EINVAL (a part empty, contains '/' or does not fit). */
int sq_aop_sign_path(const char *ns, const char *api, const char *app_key,
                     char *out, size_t cap, syncq_error *err);

/* Compute _aop_signature of `ps` (any existing _aop_signature ignored)
 * for `sign_path` with `secret` into out (41 bytes, uppercase hex).
 * Errors: SYNCQ_EINVAL (empty secret or path), SYNCQ_ENOMEM. */
int sq_aop_sign(const char *sign_path, const struct sq_aop_params *ps,
                const char *secret, char out[41], syncq_error *err);

/* Build the form body "k=v&k=v..." of `ps` (percent-encoded, '+' never
 * used for spaces) into a new string (sq_free). NULL on out of memory. */
char *sq_aop_form_encode(const struct sq_aop_params *ps);

/* Decode a form body into `ps` (values percent-decoded, '+' is a space).
 * Errors: SYNCQ_EINVAL (bad escape, too many parameters), SYNCQ_ENOMEM. */
int sq_aop_form_decode(const char *body, size_t len, struct sq_aop_params *ps,
                       syncq_error *err);

#endif
