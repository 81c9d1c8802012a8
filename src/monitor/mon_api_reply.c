/* SPDX-License-Identifier: MIT
 *
 * mon_api_reply.c: building replies and reading requests for the
 * monitor's HTTP handlers (mon_api_http.h): JSON bodies, errors with the
 * HTTP status of a syncq code, query arguments, request bodies.
 */
#include "monitor/mon_api_http.h"
#include "sq_alloc.h"
#include "sq_error.h"

#include <microhttpd.h>
#include "sq_lazy_mhd.h"
#include <stdlib.h>
#include <string.h>

void
sq_api_json(struct sq_api_reply *r, int status, const json_t *v)
{
    sq_free(r->body);
    r->status = status;
    r->ctype = "application/json";
    r->body = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                JSON_PRESERVE_ORDER);
    r->len = r->body != NULL ? strlen(r->body) : 0;
    if (r->body == NULL) {
        r->status = 500;
    }
}

void
sq_api_error(struct sq_api_reply *r, int status, const char *code,
             const char *msg, const json_t *errors)
{
    json_t *o = json_object();

    json_object_set_new(o, "error", json_string(code));
    json_object_set_new(o, "message", json_string(msg));
    if (json_array_size(errors) > 0) {
        json_object_set(o, "errors", (json_t *)errors);
    }
    sq_api_json(r, status, o);
    json_decref(o);
}

int
sq_api_status_of(int code)
{
    switch (code) {
    case SYNCQ_EINVAL:
        return 400;
    case SYNCQ_ENOTFOUND:
        return 404;
    case SYNCQ_ESTATE:
    case SYNCQ_EEXIST:
        return 409;
    case SYNCQ_ECONN:
        return 503;
    case SYNCQ_ETOOBIG:
        return 413;
    case SYNCQ_ETIMEDOUT:
        return 408;
    default:
        return 500;
    }
}

void
sq_api_syncq_error(struct sq_api_reply *r, const syncq_error *e)
{
    sq_api_error(r, sq_api_status_of(e->code), syncq_code_name(e->code),
                 e->msg, NULL);
}

const char *
sq_api_arg(const struct sq_api_req *q, const char *k)
{
    const char *v =
        MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, k);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

const char *
sq_api_header(const struct sq_api_req *q, const char *k)
{
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, k);
}

json_t *
sq_api_body(const struct sq_api_req *q, struct sq_api_reply *r)
{
    json_error_t je;
    json_t *v;
    char msg[300];

    if (q->body == NULL || q->body_len == 0) {
        sq_api_error(r, 400, "EINVAL", "a JSON request body is required",
                     NULL);
        return NULL;
    }
    v = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &je);
    if (v == NULL) {
        snprintf(msg, sizeof msg, "body is not JSON: line %d column %d: %s",
                 je.line, je.column, je.text);
        sq_api_error(r, 400, "EINVAL", msg, NULL);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        sq_api_error(r, 400, "EINVAL", "body must be a JSON object", NULL);
        return NULL;
    }
    return v;
}

bool
sq_api_int_arg(const struct sq_api_req *q, struct sq_api_reply *r,
               const char *k, long lo, long hi, long *out)
{
    const char *s = sq_api_arg(q, k);
    long v;
    char msg[120];

    if (s == NULL) {
        return true;
    }
    if (!sq_mon_query_num(s, lo, hi, &v)) {
        snprintf(msg, sizeof msg, "%s must be %ld..%ld", k, lo, hi);
        sq_api_error(r, 400, "EINVAL", msg, NULL);
        return false;
    }
    *out = v;
    return true;
}
