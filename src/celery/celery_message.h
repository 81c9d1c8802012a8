/* SPDX-License-Identifier: MIT
 *
 * celery_message.h: the one codec of Celery protocol 2 task messages as
 * kombu's Redis transport stores them (docs/celery-wire.md section 2):
 * a JSON envelope {body, content-type, content-encoding, headers,
 * properties} whose body is base64 of the JSON [args, kwargs, embed].
 * Decoding checks every field it uses and never trusts sizes; encoding
 * writes what `app.send_task()` writes. Also the kombu key names of a
 * queue's priority steps and the priority mapping between Celery's 0..9
 * (on Redis a lower number is served first) and syncq's 0..10 (higher
 * first). Pure functions: no I/O, thread-safe.
 */
#ifndef SQ_CELERY_MESSAGE_H
#define SQ_CELERY_MESSAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/error.h>

/* Envelopes bigger than this are refused undecoded (reason too_big). */
#define SQ_CELERY_MAX_MESSAGE (16u << 20)
/* kombu's separator between a queue name and its priority step. */
#define SQ_CELERY_SEP "\x06\x16"

/* Why a message cannot be taken (the reason words are the dead-letter
 * reasons, prefixed "celery_" there). */
enum sq_celery_reject {
    SQ_CELERY_OK = 0,
    SQ_CELERY_TOO_BIG,      /* over SQ_CELERY_MAX_MESSAGE */
    SQ_CELERY_NOT_JSON,     /* the envelope is not JSON (or not UTF-8) */
    SQ_CELERY_BAD_ENVELOPE, /* not an object, headers/task/id missing */
    SQ_CELERY_SERIALIZER,   /* content-type not application/json (pickle) */
    SQ_CELERY_BAD_ENCODING, /* body_encoding other than base64 */
    SQ_CELERY_BAD_BASE64,   /* body is not valid base64 */
    SQ_CELERY_BODY_NOT_JSON,/* the decoded body does not parse */
    SQ_CELERY_BAD_BODY,     /* not [args(array), kwargs(object), embed] */
    SQ_CELERY_BAD_HEADER    /* eta, expires, retries or timelimit unusable */
};

/* A decoded message. Strings and JSON are borrowed from the message and
 * live until sq_celery_msg_cleanup. On a reject, the fields read before
 * the fault stay set (task and id, when present, so a FAILURE result can
 * still be written for the caller). */
struct sq_celery_msg {
    json_t *env;              /* owned: the envelope */
    json_t *body;             /* owned: the decoded body array */
    const char *task;         /* headers.task, or NULL */
    const char *id;           /* headers.id, or NULL */
    const char *delivery_tag; /* properties.delivery_tag, or NULL */
    const char *exchange;     /* delivery_info.exchange ("" if absent) */
    const char *routing_key;  /* delivery_info.routing_key, or NULL */
    const char *root_id, *parent_id, *group; /* or NULL */
    const char *content_type; /* or NULL (taken as JSON) */
    int priority;             /* properties.priority clamped to 0..9 */
    int retries;              /* headers.retries, >= 0 */
    int64_t eta_ms;           /* 0: none */
    int64_t expires_ms;       /* 0: none */
    int64_t time_limit_ms;    /* timelimit[0]; 0: none */
    int64_t soft_time_limit_ms; /* timelimit[1]; 0: none */
    bool ignore_result;
    bool redelivered;         /* headers or delivery_info say so */
    json_t *args, *kwargs;    /* borrowed from body */
    json_t *embed;            /* borrowed: object, or NULL when null */
    char detail[160];         /* on a reject: what exactly was wrong */
};

/* Decode `len` bytes as found on a kombu list. Returns SQ_CELERY_OK with
 * *m filled, or the reject reason with m->detail saying why (m is always
 * initialised: call sq_celery_msg_cleanup either way). Never fails on
 * any input; out of memory is reported as NOT_JSON/BAD_BODY. */
enum sq_celery_reject sq_celery_msg_decode(const char *raw, size_t len,
                                           struct sq_celery_msg *m);

void sq_celery_msg_cleanup(struct sq_celery_msg *m);

/* The reject reason as a word: "too_big", "not_json", "bad_envelope",
 * "serializer", "bad_encoding", "bad_base64", "body_not_json",
 * "bad_body", "bad_header" ("ok" for SQ_CELERY_OK). Static. */
const char *sq_celery_reject_name(enum sq_celery_reject r);

/* True when the message is a chord header member (embed.chord set);
 * its part is counted as celery-wire.md section 9 says (celery_canvas.c). */
bool sq_celery_msg_has_chord(const struct sq_celery_msg *m);

/* The decoded body of any kombu envelope (events, control messages):
 * base64 or plain JSON text, any JSON value. New reference, or NULL when
 * the body is missing, not base64 or not JSON. */
json_t *sq_celery_envelope_body(json_t *env);

/* What to publish (strings and JSON borrowed for the call). */
struct sq_celery_out {
    const char *task;        /* name, sent as given (1..200 bytes) */
    const char *id;          /* task id (NULL: a new UUID v4) */
    json_t *args;            /* array, NULL: [] */
    json_t *kwargs;          /* object, NULL: {} */
    json_t *embed;           /* object, NULL: all null */
    const char *queue;       /* routing key (NULL: "celery") */
    int priority;            /* Celery 0..9 */
    int retries;
    int64_t eta_ms;          /* 0: none */
    int64_t expires_ms;      /* 0: none */
    int64_t time_limit_ms;   /* 0: null */
    int64_t soft_time_limit_ms;
    const char *root_id;     /* NULL: the id */
    const char *parent_id;   /* NULL: null */
    const char *origin;      /* producer node name, NULL: "syncq" */
    bool ignore_result;
};

/* Encode a protocol 2 message (the envelope's JSON text, owned, freed
 * with sq_free); *id_out (37 bytes, may be NULL) gets the task id.
 * Errors: SYNCQ_EINVAL (bad name, args not an array, kwargs not an
 * object, id over 200 bytes), SYNCQ_ENOMEM. */
int sq_celery_msg_encode(const struct sq_celery_out *o, char **out,
                         char id_out[201], syncq_error *err);

/* Body bytes of an event or control message: base64 of `text`. Owned
 * (sq_free), NULL on out of memory. */
char *sq_celery_base64(const char *text, size_t len);

/* Decode standard padded base64 into a new NUL-terminated buffer
 * (sq_free); NULL if it is not valid base64 or over the limit. */
unsigned char *sq_celery_unbase64(const char *s, size_t n, size_t *out_len);

/* An envelope around `body_text` for events and control replies: kombu's
 * shape with body_encoding base64, delivery_mode 1, the given headers
 * (borrowed, may be NULL: {}), exchange and routing key. Owned text. */
char *sq_celery_envelope(const char *body_text, json_t *headers,
                         const char *exchange, const char *routing_key);

/* The kombu list of `queue` at Celery priority `pri` with the steps
 * `steps[0..nsteps)` (ascending, steps[0] == 0): the bare name for the
 * step 0, else queue SEP step. Writes at most cap bytes; returns buf. */
const char *sq_celery_queue_key(const char *queue, int pri,
                                const int *steps, size_t nsteps, char *buf,
                                size_t cap);

/* Celery priority (0..9, lower served first on Redis) <-> syncq priority
 * (0..10, higher first): syncq = 9 - celery, celery = 9 - min(syncq, 9).
 * Both monotone, so the order is kept both ways. */
int sq_celery_priority_to_syncq(int celery_pri);
int sq_celery_priority_from_syncq(int syncq_pri);

/* Parse "0,3,6,9" into steps (ascending, first 0, each 0..9, at most 10).
 * Errors: SYNCQ_EINVAL naming the bad part. */
int sq_celery_steps_parse(const char *csv, int steps[10], size_t *n,
                          syncq_error *err);

/* The syncq task id of a Celery task id: the id itself when it is a
 * UUID (lowercased), else a name-based UUID (SHA-1, version 5 layout) of
 * it, the same on every machine. */
void sq_celery_syncq_id(const char *celery_id, char out[37]);

/* Format epoch ms as Celery writes times: 2026-11-29T08:19:43.091331+00:00
 * (with_zone) or the naive 2026-11-29T08:19:43.091331 of date_done. */
const char *sq_celery_time_format(int64_t ms, bool with_zone, char *buf,
                                  size_t cap);

#endif
