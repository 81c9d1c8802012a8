/* SPDX-License-Identifier: MIT
 *
 * broker_command.c: syncq_client_command, one Redis command for code
 * outside the library (task packs, plugins), its reply as JSON so that
 * hiredis stays out of the public API.
 */
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "sq_utf8.h"

#include <string.h>
#include <syncq/client.h>

static int
to_json(const redisReply *r, json_t **out, syncq_error *err)
{
    json_t *a;

    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        *out = json_integer(r->integer);
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        if (!sq_utf8_valid(r->str, r->len) || memchr(r->str, 0, r->len)) {
            return sq_fail(err, SYNCQ_EPROTO,
                           "Redis reply is not UTF-8 text (%zu bytes)",
                           r->len);
        }
        *out = json_stringn_nocheck(r->str, r->len);
        break;
    case REDIS_REPLY_NIL:
        *out = json_null();
        break;
    case REDIS_REPLY_ARRAY:
        a = json_array();
        for (size_t i = 0; a != NULL && i < r->elements; i++) {
            json_t *e = NULL;
            int rc = to_json(r->element[i], &e, err);
            if (rc != SYNCQ_OK) {
                json_decref(a);
                return rc;
            }
            if (json_array_append_new(a, e) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        *out = a;
        break;
    default:
        return sq_fail(err, SYNCQ_EPROTO, "Redis reply of type %d unsupported",
                       r->type);
    }
    if (*out == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory reading a reply");
    }
    return SYNCQ_OK;
}

int
syncq_client_command(syncq_client *c, int argc, const char *const *argv,
                     const size_t *lens, json_t **reply, syncq_error *err)
{
    redisReply *r = NULL;
    size_t *own = NULL;
    int rc;

    if (reply != NULL) {
        *reply = NULL;
    }
    if (c == NULL || argc < 1 || argv == NULL) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "a Redis command needs a client and a name");
    }
    if (lens == NULL) {
        own = sq_malloc((size_t)argc * sizeof *own);
        if (own == NULL) {
            return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        }
        for (int i = 0; i < argc; i++) {
            own[i] = argv[i] != NULL ? strlen(argv[i]) : 0;
        }
        lens = own;
    }
    rc = sq_client_cmdargv(c, argc, (const char **)argv, lens, &r, err);
    sq_free(own);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (reply != NULL) {
        rc = to_json(r, reply, err);
    }
    freeReplyObject(r);
    return rc;
}
