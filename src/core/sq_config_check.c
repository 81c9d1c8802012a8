/* SPDX-License-Identifier: MIT
 *
 * sq_config_check.c: what sq_config.c cannot see one value at a time:
 * names that are not settings (a typo, a Celery setting syncq does not
 * have) and settings that contradict each other. A misspelt setting that
 * was silently ignored would leave its default in force, so these are
 * errors at load, naming the nearest known setting.
 *
 * Which unknown names are refused (docs/configuration.md):
 *   - in a .env file: every SYNCQ_ and CELERY_ name (the file is syncq's);
 *   - in the environment: every CELERY_ name (Celery's settings namespace),
 *     and SYNCQ_ names shaped like a setting: one edit from a known name
 *     (two for names of 20 characters or more: SYNCQ_WORKER_CONCURENCY,
 *     SYNCQ_LOG_LEVLE), or a known name with more after it
 *     (SYNCQ_WORKER_PREFETCH_MULTIPLIER). Other SYNCQ_ names (the test
 *     harness's SYNCQ_BIN, SYNCQ_TEST_DIR, SYNCQ_REDIS_SOCK) are not
 *     settings and are left alone.
 */
#include "core/sq_config.h"
#include "core/sq_edit.h"
#include "sq_error.h"
#include "sq_url.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>


/* Celery settings with no syncq counterpart, and why. `same` lists the
 * values (case-insensitive, '|'-separated) that ask for what syncq does
 * anyway: a Celery .env that says CELERY_TASK_SERIALIZER=json is accepted
 * as it stands; any other value is refused with the reason. */
static const struct {
    const char *name;
    const char *same; /* NULL: every value is refused */
    const char *why;
} unsupported[] = {
    {"CELERY_TASK_ACKS_LATE", "true|1|yes|on",
     "syncq always acknowledges late (a task leaves the queue only when it "
     "ends)"},
    {"CELERY_ACKS_LATE", "true|1|yes|on",
     "syncq always acknowledges late (a task leaves the queue only when it "
     "ends)"},
    {"CELERY_TASK_REJECT_ON_WORKER_LOST", "true|1|yes|on",
     "syncq always requeues the tasks of a lost worker (error class "
     "worker_lost, up to SYNCQ_MAX_DELIVERIES)"},
    {"CELERY_TASK_SERIALIZER", "json", "syncq always uses JSON"},
    {"CELERY_RESULT_SERIALIZER", "json", "syncq always uses JSON"},
    {"CELERY_ACCEPT_CONTENT",
     "json|application/json|[\"json\"]|['json']|[\"application/json\"]|"
     "['application/json']",
     "syncq always uses JSON"},
    {"CELERY_TASK_ALWAYS_EAGER", "false|0|no|off",
     "run a task in-process with `syncq task run`"},
    {"CELERY_ENABLE_UTC", "true|1|yes|on",
     "syncq keeps every time in UTC; SYNCQ_TIMEZONE is the zone of "
     "schedules"},
    {"CELERY_TASK_ROUTES", NULL,
     "route with `--queue` or the task's registered queue"},
    {"CELERY_BEAT_SCHEDULE", NULL,
     "schedules live in Redis or SYNCQ_BEAT_SCHEDULE_FILE"},
    {"CELERY_WORKER_POOL", "prefork", "syncq workers always prefork children"},
    /* Celery's broker_use_ssl is a dict; its keys map onto the URL. */
    {"CELERY_BROKER_USE_SSL", NULL,
     "use a rediss:// URL; Celery's ssl_cert_reqs, ssl_ca_certs, "
     "ssl_certfile and ssl_keyfile are accepted as its query parameters, or "
     "set SYNCQ_BROKER_TLS_*"},
    {"CELERY_REDIS_BACKEND_USE_SSL", NULL,
     "results live in the broker's Redis: the broker's TLS settings apply"},
};

/* Is `value` one of the '|'-separated `list` (case-insensitive, spaces
 * around it ignored)? */
static bool
value_in(const char *value, const char *list)
{
    size_t vl;

    while (isspace((unsigned char)*value)) {
        value++;
    }
    vl = strlen(value);
    while (vl > 0 && isspace((unsigned char)value[vl - 1])) {
        vl--;
    }
    while (list != NULL && *list != '\0') {
        const char *bar = strchr(list, '|');
        size_t n = bar != NULL ? (size_t)(bar - list) : strlen(list);
        if (n == vl && strncasecmp(list, value, n) == 0) {
            return true;
        }
        list = bar != NULL ? bar + 1 : NULL;
    }
    return false;
}

static bool
has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The known name of the same family (SYNCQ_ keys, or CELERY_ aliases)
 * nearest to `name`, and its distance. */
static const char *
nearest(const char *name, bool celery, size_t *dist)
{
    const char *best = NULL;

    *dist = (size_t)-1;
    for (size_t i = 0; i < sq_cfg_ndefs; i++) {
        const char *known = celery ? sq_cfg_defs[i].alias : sq_cfg_defs[i].key;
        size_t d;
        if (known == NULL) {
            continue;
        }
        d = sq_edit_distance(name, known);
        if (d < *dist) {
            *dist = d;
            best = known;
        }
    }
    return best;
}

/* Edits a misspelling may be away from the setting it means: one in a
 * short name (SYNCQ_REDIS_DIR is not SYNCQ_MEDIA_DIR), two in a long one. */
static size_t
typo_edits(const char *name)
{
    return strlen(name) >= 20 ? 2 : 1;
}

/* The setting `name` extends with "_" and more
 * (SYNCQ_WORKER_PREFETCH_MULTIPLIER), or NULL. */
static const char *
extended_key(const char *name)
{
    for (size_t i = 0; i < sq_cfg_ndefs; i++) {
        size_t n = strlen(sq_cfg_defs[i].key);
        if (strncmp(name, sq_cfg_defs[i].key, n) == 0 && name[n] == '_') {
            return sq_cfg_defs[i].key;
        }
    }
    return NULL;
}

int
sq_config_check_name(const char *name, const char *value, const char *source,
                     bool strict, syncq_error *err)
{
    bool celery = has_prefix(name, "CELERY_");
    size_t dist;
    const char *near;

    if (!celery && !has_prefix(name, "SYNCQ_")) {
        return SYNCQ_OK; /* another program's */
    }
    for (size_t i = 0; celery && i < sizeof unsupported / sizeof *unsupported;
         i++) {
        if (strcmp(name, unsupported[i].name) == 0) {
            if (value != NULL && value_in(value, unsupported[i].same)) {
                return SYNCQ_OK; /* asks for what syncq does anyway */
            }
            return sq_fail(err, SYNCQ_EINVAL,
                           "%s (%s): Celery setting not supported: %s", name,
                           source, unsupported[i].why);
        }
    }
    near = nearest(name, celery, &dist);
    if (dist == 0) {
        return SYNCQ_OK;
    }
    if (!celery && extended_key(name) != NULL) {
        near = extended_key(name);
        dist = 0;
    }
    if (dist <= typo_edits(name)) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%.96s (%s): unknown setting; did you mean %s?", name,
                       source, near);
    }
    if (celery) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%.96s (%s): Celery setting not supported by syncq "
                       "(docs/configuration.md lists the CELERY_ names it "
                       "reads)",
                       name, source);
    }
    if (!strict) {
        return SYNCQ_OK; /* not shaped like a setting: not ours */
    }
    return sq_fail(err, SYNCQ_EINVAL,
                   "%.96s (%s): unknown setting (nearest: %s; `syncq config "
                   "show` lists them)",
                   name, source, near);
}

/* CELERY_RESULT_BACKEND is accepted only as the broker's Redis itself:
 * results live in the task record. */
static int
check_result_backend(const syncq_config *cfg, syncq_error *err)
{
    const char *rb = syncq_config_str(cfg, "SYNCQ_RESULT_BACKEND");
    struct sq_redis_url a, b;
    syncq_error e2;

    if (rb == NULL || rb[0] == '\0') {
        return SYNCQ_OK;
    }
    if (sq_redis_url_parse(rb, &a, &e2) == SYNCQ_OK &&
        sq_redis_url_parse(syncq_config_str(cfg, "SYNCQ_BROKER_URL"), &b,
                           &e2) == SYNCQ_OK &&
        a.is_unix == b.is_unix && strcmp(a.host, b.host) == 0 &&
        a.port == b.port && strcmp(a.path, b.path) == 0 && a.db == b.db) {
        return SYNCQ_OK;
    }
    return sq_fail(err, SYNCQ_EINVAL,
                   "SYNCQ_RESULT_BACKEND (%s): results live with the task "
                   "record in the broker; leave it empty or name the "
                   "broker's Redis (same host, port and db as "
                   "SYNCQ_BROKER_URL)",
                   syncq_config_source(cfg, "SYNCQ_RESULT_BACKEND"));
}

int
sq_config_check(const syncq_config *cfg, syncq_error *err)
{
    int64_t hard = syncq_config_ms(cfg, "SYNCQ_TASK_TIME_LIMIT");
    int64_t soft = syncq_config_ms(cfg, "SYNCQ_TASK_SOFT_TIME_LIMIT");
    int64_t lease = syncq_config_ms(cfg, "SYNCQ_LEASE_TIMEOUT");
    int64_t beat = syncq_config_ms(cfg, "SYNCQ_HEARTBEAT_INTERVAL");

    /* a soft limit that was set on purpose must come before the hard one
     * (the default soft limit above a lowered hard limit just never
     * fires) */
    if (hard > 0 && soft > 0 && soft >= hard &&
        strcmp(syncq_config_source(cfg, "SYNCQ_TASK_SOFT_TIME_LIMIT"),
               "default") != 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "SYNCQ_TASK_SOFT_TIME_LIMIT (%lld ms) must be below "
                       "SYNCQ_TASK_TIME_LIMIT (%lld ms): the soft limit asks "
                       "a task to stop before the hard one kills it",
                       (long long)soft, (long long)hard);
    }
    if (lease < 2 * beat) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "SYNCQ_LEASE_TIMEOUT (%lld ms) must be at least twice "
                       "SYNCQ_HEARTBEAT_INTERVAL (%lld ms), or running "
                       "tasks lose their lease between heartbeats",
                       (long long)lease, (long long)beat);
    }
    return check_result_backend(cfg, err);
}
