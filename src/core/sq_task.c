/* SPDX-License-Identifier: MIT
 *
 * sq_task.c: the task model (sq_task.h): states, name/queue/priority
 * rules, record field names, effective settings, retry-policy check.
 */
#include "core/sq_task.h"
#include "core/sq_time.h"
#include "sq_error.h"
#include "sq_utf8.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syncq/recovery.h>

/* ---- states ------------------------------------------------------------ */

static const struct {
    const char *name;
    bool final;
} states[SQ_STATE__COUNT] = {
    [SQ_STATE_PENDING] = {"PENDING", false},
    [SQ_STATE_RECEIVED] = {"RECEIVED", false},
    [SQ_STATE_STARTED] = {"STARTED", false},
    [SQ_STATE_PROGRESS] = {"PROGRESS", false},
    [SQ_STATE_RETRY] = {"RETRY", false},
    [SQ_STATE_SUCCESS] = {"SUCCESS", true},
    [SQ_STATE_FAILURE] = {"FAILURE", true},
    [SQ_STATE_REVOKED] = {"REVOKED", true},
    [SQ_STATE_EXPIRED] = {"EXPIRED", true},
    [SQ_STATE_SKIPPED] = {"SKIPPED", true},
    [SQ_STATE_DEAD] = {"DEAD", true},
};

const char *
sq_task_state_name(enum sq_task_state s)
{
    return (s >= 0 && s < SQ_STATE__COUNT) ? states[s].name : NULL;
}

int
sq_task_state_parse(const char *name)
{
    for (int i = 0; name != NULL && i < SQ_STATE__COUNT; i++) {
        if (strcmp(name, states[i].name) == 0) {
            return i;
        }
    }
    return -1;
}

bool
sq_task_state_final(enum sq_task_state s)
{
    return s >= 0 && s < SQ_STATE__COUNT && states[s].final;
}

bool
sq_state_is_final(const char *state)
{
    int s = sq_task_state_parse(state);

    return s >= 0 && states[s].final;
}

size_t
sq_task_lua_states(char *buf, size_t cap)
{
    const char *sep = "";
    size_t n = 0;

    n += (size_t)snprintf(buf, cap, "local FINAL = {");
    for (int i = 0; i < SQ_STATE__COUNT; i++) {
        if (states[i].final) {
            n += (size_t)snprintf(buf + (n < cap ? n : cap),
                                  n < cap ? cap - n : 0, "%s%s = true", sep,
                                  states[i].name);
            sep = ", ";
        }
    }
    n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0,
                          "}\n");
    return n;
}

/* ---- names, queues, priorities ---------------------------------------- */

int
sq_task_text_check(const char *what, const char *s, syncq_error *err)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s contains a control character (byte %u at "
                           "offset %zu)",
                           what, *p, (size_t)(p - (const unsigned char *)s));
        }
    }
    return SYNCQ_OK;
}

/* Refuse a `what` name with a byte other than a letter, a digit or one
 * of `extra`; the message shows the name (sanitised) and the byte. */
static int
outside_charset(const char *what, const char *name, const char *extra,
                syncq_error *err)
{
    for (const char *p = name; *p; p++) {
        char shown[200], allowed[16];
        size_t k = 0;
        if (isalnum((unsigned char)*p) || strchr(extra, *p) != NULL) {
            continue;
        }
        for (const char *e = extra; *e && k + 2 < sizeof allowed; e++) {
            allowed[k++] = *e; /* "_.-" shown as "_ . -" */
            allowed[k++] = e[1] ? ' ' : '\0';
        }
        allowed[k] = '\0';
        sq_utf8_sanitize(name, strnlen(name, 64), shown, sizeof shown);
        if ((unsigned char)*p >= 0x80) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s '%s' has byte 0x%02x (non-ASCII); allowed: "
                           "letters, digits, %s",
                           what, shown, (unsigned char)*p, allowed);
        }
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s '%s' has '%c'; allowed: letters, digits, %s", what,
                       shown, *p, allowed);
    }
    return SYNCQ_OK;
}

int
syncq_task_name_normalize(const char *name, char *out, size_t cap,
                          syncq_error *err)
{
    static const char *long_prefix = "src.queue.tasks.";
    size_t n;

    if (name == NULL || name[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "task name is empty");
    }
    n = strlen(name);
    if (n > SQ_TASK_NAME_MAX) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "task name is %zu bytes, limit %d", n,
                       SQ_TASK_NAME_MAX);
    }
    if (sq_task_text_check("task name", name, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    if (outside_charset("task name", name, "_.:-", err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    if (strncmp(name, long_prefix, strlen(long_prefix)) == 0 &&
        name[strlen(long_prefix)] != '\0') {
        name += strlen(long_prefix);
    }
    if (name[0] == '.' || name[strlen(name) - 1] == '.') {
        return sq_fail(err, SYNCQ_EINVAL,
                       "task name '%.64s' starts or ends with a dot", name);
    }
    if (strlen(name) + 1 > cap) {
        return sq_fail(err, SYNCQ_EINVAL, "task name too long");
    }
    memcpy(out, name, strlen(name) + 1);
    return SYNCQ_OK;
}

int
syncq_queue_name_check(const char *queue, syncq_error *err)
{
    size_t n;

    if (queue == NULL || queue[0] == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "queue name is empty");
    }
    n = strlen(queue);
    if (n > SQ_QUEUE_NAME_MAX) {
        return sq_fail(err, SYNCQ_EINVAL, "queue name is %zu bytes, limit %d",
                       n, SQ_QUEUE_NAME_MAX);
    }
    if (sq_task_text_check("queue name", queue, err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    if (outside_charset("queue name", queue, "_.-", err) != SYNCQ_OK) {
        return SYNCQ_EINVAL;
    }
    return SYNCQ_OK;
}

int
syncq_priority_parse(const char *s, int *out, syncq_error *err)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {{"LOW", 0}, {"NORMAL", 5}, {"HIGH", 8}, {"URGENT", 10}};
    char *end;
    long v;

    if (s == NULL || *s == '\0') {
        return sq_fail(err, SYNCQ_EINVAL, "priority is empty");
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].value;
            return SYNCQ_OK;
        }
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || errno != 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "priority '%.32s' is not LOW, NORMAL, HIGH, URGENT "
                       "or 0..10",
                       s);
    }
    if (v < 0 || v > 10) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "priority %ld out of range 0..10 (10 is highest)", v);
    }
    *out = (int)v;
    return SYNCQ_OK;
}

int
sq_task_priority_check(int priority, syncq_error *err)
{
    if (priority < 0 || priority > 10) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "priority %d out of range 0..10 (10 is highest)",
                       priority);
    }
    return SYNCQ_OK;
}

int
sq_task_max_retries_check(long v, bool unset_ok, syncq_error *err)
{
    if ((v == -1 && unset_ok) || (v >= 0 && v <= SQ_MAX_RETRIES_LIMIT)) {
        return SYNCQ_OK;
    }
    return sq_fail(err, SYNCQ_EINVAL, "max_retries %ld out of range 0..%d", v,
                   SQ_MAX_RETRIES_LIMIT);
}

int
sq_task_expires_check(int64_t expires_ms, int64_t now_ms, syncq_error *err)
{
    char at[40];

    if (expires_ms == 0 || expires_ms > now_ms) {
        return SYNCQ_OK;
    }
    return sq_fail(err, SYNCQ_EINVAL, "expires %s is not in the future; the "
                   "task could never run",
                   sq_time_format_iso8601_ms(expires_ms, at, sizeof at));
}

int
sq_task_eta_check(int64_t eta_ms, int64_t countdown_ms, int64_t now_ms,
                  syncq_error *err)
{
    char t[40];

    if (countdown_ms > SYNCQ_ETA_MAX_MS) {
        return sq_fail(err, SYNCQ_EINVAL, "countdown %s is more than %lld "
                       "days (SYNCQ_ETA_MAX_MS)",
                       sq_duration_format(countdown_ms, t, sizeof t),
                       SYNCQ_ETA_MAX_MS / 86400000);
    }
    if (eta_ms > 0 && eta_ms - now_ms > SYNCQ_ETA_MAX_MS) {
        return sq_fail(err, SYNCQ_EINVAL, "eta %s is more than %lld days "
                       "ahead (SYNCQ_ETA_MAX_MS)",
                       sq_time_format_iso8601_ms(eta_ms, t, sizeof t),
                       SYNCQ_ETA_MAX_MS / 86400000);
    }
    return SYNCQ_OK;
}

int
sq_task_policy_check(const char *json, size_t len, syncq_error *err)
{
    /* the parser is the worker's own (src/recovery), so what passes here
     * is what the worker can use; its messages name "retry policy" */
    return syncq_retry_policy_check(json, len, err);
}

/* ---- record fields ----------------------------------------------------- */

static const struct sq_task_field fields[] = {
    {"name", "name", SQ_FIELD_STR},
    {"queue", "queue", SQ_FIELD_STR},
    {"pri", "priority", SQ_FIELD_INT},
    {"state", "state", SQ_FIELD_STR},
    {"args", "args", SQ_FIELD_JSON},
    {"kwargs", "kwargs", SQ_FIELD_JSON},
    {"result", "result", SQ_FIELD_JSON},
    {"errors", "errors", SQ_FIELD_JSON},
    {"progress", "progress", SQ_FIELD_JSON},
    {"pol", "retry_policy", SQ_FIELD_JSON},
    {"ct", "created_at", SQ_FIELD_TIME},
    {"eta", "eta", SQ_FIELD_TIME},
    {"exp", "expires", SQ_FIELD_TIME},
    {"lt", "leased_at", SQ_FIELD_TIME},
    {"st", "started_at", SQ_FIELD_TIME},
    {"dt", "done_at", SQ_FIELD_TIME},
    {"dead_at", "dead_at", SQ_FIELD_TIME},
    {"revoke_at", "revoke_requested_at", SQ_FIELD_TIME},
    {"skip_at", "skipped_at", SQ_FIELD_TIME},
    {"attempt", "attempt", SQ_FIELD_INT},
    {"retries", "retries", SQ_FIELD_INT},
    {"deferrals", "deferrals", SQ_FIELD_INT},
    {"maxr", "max_retries", SQ_FIELD_INT},
    {"lost", "lost", SQ_FIELD_INT},
    {"tl", "time_limit_ms", SQ_FIELD_INT},
    {"stl", "soft_time_limit_ms", SQ_FIELD_INT},
    {"rt", "runtime_ms", SQ_FIELD_INT},
    {"rexp", "result_expires_ms", SQ_FIELD_INT},
    {"worker", "worker", SQ_FIELD_STR},
    {"ran_by", "ran_by", SQ_FIELD_STR},
    {"batch", "batch_id", SQ_FIELD_STR},
    {"parent", "parent_id", SQ_FIELD_STR},
    {"root", "root_id", SQ_FIELD_STR},
    {"uniq", "unique_key", SQ_FIELD_STR},
    {"dead_reason", "dead_reason", SQ_FIELD_STR},
    {"revoke", "revoke_requested", SQ_FIELD_BOOL},
    {"revoke_by", "revoked_by", SQ_FIELD_STR},
    {"skip_by", "skipped_by", SQ_FIELD_STR},
    {"lease", "lease_token", SQ_FIELD_STR},
    {"raw", "raw", SQ_FIELD_STR},
    {"resume", "resume_strategy", SQ_FIELD_STR},
    {"resume_by", "resumed_by", SQ_FIELD_STR},
    {"resume_at", "resumed_at", SQ_FIELD_TIME},
    {"resume_seq", "resume_seq", SQ_FIELD_INT},
    {"rhist", "resume_history", SQ_FIELD_JSON},
    {"cp_seq", "checkpoint_seq", SQ_FIELD_INT},
    {"cp_at", "checkpoint_at", SQ_FIELD_TIME},
};

const struct sq_task_field *
sq_task_field_short(const char *field, size_t len)
{
    /* the first byte before strncmp: a worker decodes every field of
     * every task it leases here */
    for (size_t j = 0; j < sizeof fields / sizeof fields[0]; j++) {
        if (len > 0 && fields[j].field[0] == field[0] &&
            strncmp(field, fields[j].field, len) == 0 &&
            fields[j].field[len] == '\0') {
            return &fields[j];
        }
    }
    return NULL;
}

const struct sq_task_field *
sq_task_field_long(const char *key)
{
    for (size_t j = 0; j < sizeof fields / sizeof fields[0]; j++) {
        if (strcmp(key, fields[j].key) == 0) {
            return &fields[j];
        }
    }
    return NULL;
}

/* ---- effective settings ------------------------------------------------ */

void
sq_task_settings_init(struct sq_task_settings *s)
{
    memset(s, 0, sizeof *s);
    s->priority = -1;
    s->max_retries = -1;
}

void
sq_task_resolve(const syncq_task_def *def,
                const struct sq_task_settings *given,
                const struct sq_task_settings *config,
                struct sq_task_settings *out)
{
    struct sq_task_settings d, none;

    sq_task_settings_init(&d);
    sq_task_settings_init(&none);
    if (def != NULL) {
        d.queue = def->queue;
        d.priority = def->priority;
        d.time_limit_ms = def->time_limit_ms;
        d.soft_time_limit_ms = def->soft_time_limit_ms;
        d.max_retries = def->max_retries;
    }
    if (given == NULL) {
        given = &none;
    }
    if (config == NULL) {
        config = &none;
    }
#define PICK(f, set)                                                           \
    out->f = (given->f set) ? given->f : (d.f set) ? d.f : config->f
    PICK(queue, != NULL);
    PICK(priority, >= 0);
    PICK(time_limit_ms, > 0);
    PICK(soft_time_limit_ms, > 0);
    PICK(max_retries, >= 0);
#undef PICK
    if (out->priority < 0) {
        out->priority = SQ_PRIORITY_DEFAULT;
    }
    out->task_policy = def != NULL ? def->retry_policy_json : NULL;
    out->call_policy = given->call_policy;
}
