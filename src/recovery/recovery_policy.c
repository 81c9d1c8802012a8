/* SPDX-License-Identifier: MIT
 *
 * recovery_policy.c: retry policies by error class. A policy is the
 * built-in row of its class, overridden in turn by the policy file
 * (SYNCQ_RETRY_POLICY_FILE), the task's registry default, the per-call
 * policy stored on the record and the record's max_retries. Delays grow
 * exponentially and get full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter", 2015): uniform in [0, min(cap, base * factor^n)].
 *
 * Relies on jansson for the policy documents and on glibc's fork-safe
 * arc4random for jitter (so prefork children never share a sequence).
 * Knows nothing of Redis. Never trusts a policy document: every field is
 * type- and range-checked, unknown names are errors (typos must not pass
 * silently).
 */
#include "recovery/recovery.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_time.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syncq/task.h>

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define POLICY_MAX_DELAY_MS (30 * DAY) /* longest base or cap accepted */
#define POLICY_MAX_RETRIES 1000
#define POLICY_MAX_FACTOR 100.0
#define POLICY_FILE_MAX_BYTES (1 << 20)
#define INHERIT (-1) /* max_retries: SYNCQ_TASK_MAX_RETRIES */

/* Built-in rows, indexed by enum syncq_error_class. Retryable classes
 * retry with jitter and dead-letter when exhausted; the others fail at
 * once and stay out of the dead-letter queue (issue 5 defaults). */
static const struct sq_retry_policy builtin[SYNCQ_ERR__COUNT] = {
    [SYNCQ_ERR_NONE] = {false, 0, 2.0, 0, 0, false, false},
    [SYNCQ_ERR_NETWORK] = {true, 2 * SEC, 2.0, 5 * MIN, INHERIT, true, true},
    [SYNCQ_ERR_TIMEOUT] = {true, 5 * SEC, 2.0, 10 * MIN, INHERIT, true,
                           true},
    [SYNCQ_ERR_RATE_LIMITED] = {true, 10 * SEC, 2.0, 15 * MIN, INHERIT, true,
                                true},
    [SYNCQ_ERR_HTTP_5XX] = {true, 5 * SEC, 2.0, 5 * MIN, INHERIT, true, true},
    [SYNCQ_ERR_PARSE] = {false, 0, 2.0, 0, 0, false, false},
    [SYNCQ_ERR_VALIDATION] = {false, 0, 2.0, 0, 0, false, false},
    [SYNCQ_ERR_NOT_FOUND] = {false, 0, 2.0, 0, 0, false, false},
    [SYNCQ_ERR_AUTH] = {false, 0, 2.0, 0, 0, false, false},
    [SYNCQ_ERR_INTERNAL] = {false, 0, 2.0, 0, 0, false, false},
    [SYNCQ_ERR_NOT_REGISTERED] = {false, 0, 2.0, 0, 0, false, false},
    /* captcha / anti-bot: give the host a real cool-down first */
    [SYNCQ_ERR_BLOCKED] = {true, 5 * MIN, 2.0, HOUR, INHERIT, true, true},
    [SYNCQ_ERR_WORKER_LOST] = {true, 1 * SEC, 2.0, MIN, INHERIT, true, true},
    [SYNCQ_ERR_REVOKED] = {false, 0, 2.0, 0, 0, false, false},
};

const struct sq_retry_policy *
sq_retry_policy_builtin(int error_class)
{
    if (error_class <= SYNCQ_ERR_NONE || error_class >= SYNCQ_ERR__COUNT) {
        return &builtin[SYNCQ_ERR_INTERNAL];
    }
    return &builtin[error_class];
}

/* ---- policy documents ------------------------------------------------ */

/* Which fields an entry set, so entries overlay each other field by
 * field. */
struct overlay {
    struct sq_retry_policy v;
    bool has_retryable, has_base, has_factor, has_max, has_retries,
        has_jitter, has_dead;
};

static void
overlay_apply(const struct overlay *o, struct sq_retry_policy *p)
{
    if (o->has_retryable) {
        p->retryable = o->v.retryable;
    }
    if (o->has_base) {
        p->base_ms = o->v.base_ms;
    }
    if (o->has_factor) {
        p->factor = o->v.factor;
    }
    if (o->has_max) {
        p->max_ms = o->v.max_ms;
    } else if (o->has_base && p->max_ms < p->base_ms) {
        /* an explicit base above the inherited cap raises the cap: the
         * first delay is the base asked for, never silently less */
        p->max_ms = p->base_ms;
    }
    if (o->has_retries) {
        p->max_retries = o->v.max_retries;
    }
    if (o->has_jitter) {
        p->jitter = o->v.jitter;
    }
    if (o->has_dead) {
        p->dead_letter = o->v.dead_letter;
    }
}

static bool
is_field(const char *k)
{
    static const char *names[] = {"retryable", "base",       "base_ms",
                                  "factor",    "max",        "max_ms",
                                  "max_retries", "jitter",   "dead_letter"};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(k, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A delay field: seconds (number, may be fractional) or a duration
 * string ("500ms", "2s", "5m") for `base`/`max`; integer ms for the
 * `_ms` forms. */
static int
read_delay(json_t *v, bool in_ms, const char *src, const char *where,
           const char *k, int64_t *out, syncq_error *err)
{
    double d;

    if (json_is_string(v) && !in_ms) {
        syncq_error e2;
        int64_t ms;
        if (sq_duration_parse_ms(json_string_value(v), &ms, &e2) !=
            SYNCQ_OK) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: %s.%s: %s", src, where, k,
                           e2.msg);
        }
        d = (double)ms;
    } else if (in_ms && json_is_integer(v)) {
        d = (double)json_integer_value(v);
    } else if (!in_ms && json_is_number(v)) {
        d = json_number_value(v) * 1000.0;
    } else {
        return sq_fail(err, SYNCQ_EINVAL, "%s: %s.%s: expected %s", src,
                       where, k,
                       in_ms ? "an integer of milliseconds"
                             : "seconds (a number) or a duration like \"2s\"");
    }
    if (!(d >= 0.0) || d > (double)POLICY_MAX_DELAY_MS) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s: %s.%s: out of range 0..30 days", src, where, k);
    }
    *out = llround(d);
    return SYNCQ_OK;
}

static int
read_bool(json_t *v, const char *src, const char *where, const char *k,
          bool *out, syncq_error *err)
{
    if (!json_is_boolean(v)) {
        return sq_fail(err, SYNCQ_EINVAL, "%s: %s.%s: expected true or false",
                       src, where, k);
    }
    *out = json_is_true(v);
    return SYNCQ_OK;
}

/* One field of an entry into the overlay. */
static int
read_field(struct overlay *o, const char *k, json_t *v, const char *src,
           const char *where, syncq_error *err)
{
    if (strcmp(k, "retryable") == 0) {
        o->has_retryable = true;
        return read_bool(v, src, where, k, &o->v.retryable, err);
    }
    if (strcmp(k, "jitter") == 0) {
        o->has_jitter = true;
        return read_bool(v, src, where, k, &o->v.jitter, err);
    }
    if (strcmp(k, "dead_letter") == 0) {
        o->has_dead = true;
        return read_bool(v, src, where, k, &o->v.dead_letter, err);
    }
    if (strcmp(k, "base") == 0 || strcmp(k, "base_ms") == 0) {
        o->has_base = true;
        return read_delay(v, k[4] == '_', src, where, k, &o->v.base_ms, err);
    }
    if (strcmp(k, "max") == 0 || strcmp(k, "max_ms") == 0) {
        o->has_max = true;
        return read_delay(v, k[3] == '_', src, where, k, &o->v.max_ms, err);
    }
    if (strcmp(k, "factor") == 0) {
        double f;
        if (!json_is_number(v)) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: %s.factor: expected a "
                           "number", src, where);
        }
        f = json_number_value(v);
        if (!(f >= 1.0 && f <= POLICY_MAX_FACTOR)) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: %s.factor: %g out of "
                           "range 1..100", src, where, f);
        }
        o->has_factor = true;
        o->v.factor = f;
        return SYNCQ_OK;
    }
    if (strcmp(k, "max_retries") == 0) {
        json_int_t n;
        if (!json_is_integer(v)) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: %s.max_retries: expected "
                           "an integer", src, where);
        }
        n = json_integer_value(v);
        if (n < 0 || n > POLICY_MAX_RETRIES) {
            return sq_fail(err, SYNCQ_EINVAL, "%s: %s.max_retries: %lld out "
                           "of range 0..1000", src, where, (long long)n);
        }
        o->has_retries = true;
        o->v.max_retries = (int)n;
        return SYNCQ_OK;
    }
    return sq_fail(err, SYNCQ_EINVAL,
                   "%s: %s: unknown field \"%s\" (retryable, base, base_ms, "
                   "factor, max, max_ms, max_retries, jitter, dead_letter)",
                   src, where, k);
}

/* An entry giving both a base and a smaller max contradicts itself. */
static int
check_entry(const struct overlay *o, const char *src, const char *where,
            syncq_error *err)
{
    char b[32], m[32];

    if (o->has_base && o->has_max && o->v.base_ms > o->v.max_ms) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "%s: %s: base %s is larger than max %s (the first "
                       "delay would be capped; raise max or lower base)",
                       src, where,
                       sq_duration_format(o->v.base_ms, b, sizeof b),
                       sq_duration_format(o->v.max_ms, m, sizeof m));
    }
    return SYNCQ_OK;
}

/* An entry object (a class's or "*") into an overlay. */
static int
read_entry(json_t *obj, const char *src, const char *where,
           struct overlay *o, syncq_error *err)
{
    const char *k;
    json_t *v;

    if (!json_is_object(obj)) {
        return sq_fail(err, SYNCQ_EINVAL, "%s: %s: expected an object of "
                       "policy fields", src, where);
    }
    json_object_foreach(obj, k, v) {
        int rc = read_field(o, k, v, src, where, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return check_entry(o, src, where, err);
}

/* Validate the whole document and overlay its parts for `cls` onto p. */
static int
apply_doc(json_t *root, const char *src, int cls, struct sq_retry_policy *p,
          syncq_error *err)
{
    struct overlay top, star, mine;
    const char *k;
    json_t *v;
    int rc;

    memset(&top, 0, sizeof top);
    memset(&star, 0, sizeof star);
    memset(&mine, 0, sizeof mine);
    if (!json_is_object(root)) {
        return sq_fail(err, SYNCQ_EINVAL, "%s: a retry policy must be a JSON "
                       "object", src);
    }
    json_object_foreach(root, k, v) {
        if (is_field(k)) {
            rc = read_field(&top, k, v, src, "(top level)", err);
        } else if (strcmp(k, "*") == 0) {
            rc = read_entry(v, src, "*", &star, err);
        } else {
            int c = syncq_error_class_parse(k);
            struct overlay scratch;
            if (c <= SYNCQ_ERR_NONE) {
                return sq_fail(err, SYNCQ_EINVAL,
                               "%s: unknown error class \"%s\" (network, "
                               "timeout, rate_limited, http_5xx, parse, "
                               "validation, not_found, auth, internal, "
                               "not_registered, blocked, worker_lost, "
                               "revoked, or \"*\")",
                               src, k);
            }
            memset(&scratch, 0, sizeof scratch);
            rc = read_entry(v, src, k, c == cls ? &mine : &scratch, err);
        }
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    rc = check_entry(&top, src, "(top level)", err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    overlay_apply(&top, p);
    overlay_apply(&star, p);
    overlay_apply(&mine, p);
    return SYNCQ_OK;
}

int
sq_retry_policy_apply(const char *json, size_t len, const char *source,
                      int error_class, struct sq_retry_policy *p,
                      syncq_error *err)
{
    json_error_t jerr;
    json_t *root;
    struct sq_retry_policy tmp = *p;
    int rc;

    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jansson reports a failed allocation inside its lexer as a
         * syntax error; a probe allocation tells the two apart. */
        void *probe = sq_malloc(64);
        sq_free(probe);
        if (probe == NULL ||
            json_error_code(&jerr) == json_error_out_of_memory) {
            return sq_fail(err, SYNCQ_ENOMEM, "%s: out of memory", source);
        }
    }
    if (root == NULL) {
        return sq_fail(err, SYNCQ_EINVAL, "%s: not valid JSON (line %d: %s)",
                       source, jerr.line, jerr.text);
    }
    rc = apply_doc(root, source, error_class, &tmp, err);
    json_decref(root);
    if (rc == SYNCQ_OK) {
        *p = tmp;
    }
    return rc;
}

/* ---- the policy file, parsed once per change ------------------------ */

static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    char *text; /* file contents, validated */
    size_t len;
} cache;

static bool
same_file(const char *path, const struct stat *st)
{
    return cache.path != NULL && strcmp(cache.path, path) == 0 &&
           cache.dev == st->st_dev && cache.ino == st->st_ino &&
           cache.size == st->st_size &&
           cache.mtime.tv_sec == st->st_mtim.tv_sec &&
           cache.mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Read `path` into a new buffer (at most POLICY_FILE_MAX_BYTES). */
static int
slurp(const char *path, char **out, size_t *len, syncq_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;

    *out = NULL;
    if (f == NULL) {
        return sq_fail_errno(err, SYNCQ_EIO, "policy file %s: %s", path,
                             strerror(errno));
    }
    buf = sq_malloc(POLICY_FILE_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory reading %s", path);
    }
    n = fread(buf, 1, POLICY_FILE_MAX_BYTES + 1, f);
    if (ferror(f)) {
        int rc = sq_fail_errno(err, SYNCQ_EIO, "policy file %s: read error",
                               path);
        fclose(f);
        sq_free(buf);
        return rc;
    }
    fclose(f);
    if (n > POLICY_FILE_MAX_BYTES) {
        sq_free(buf);
        return sq_fail(err, SYNCQ_EINVAL, "policy file %s: over 1 MiB", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return SYNCQ_OK;
}

/* Apply the policy file at `path` for `cls`, re-reading it only when its
 * identity, size or mtime changed. */
static int
apply_file(const char *path, int cls, struct sq_retry_policy *p,
           syncq_error *err)
{
    char src[300];
    struct stat st;
    int rc;

    snprintf(src, sizeof src, "policy file %s", path);
    if (stat(path, &st) != 0) {
        return sq_fail_errno(err, SYNCQ_EIO, "%s: %s", src, strerror(errno));
    }
    pthread_mutex_lock(&file_lock);
    if (!same_file(path, &st)) {
        char *text = NULL;
        size_t len = 0;
        struct sq_retry_policy probe = *p;
        char *pathcopy;
        rc = slurp(path, &text, &len, err);
        if (rc == SYNCQ_OK) {
            /* validate before caching: a bad file is never cached */
            rc = sq_retry_policy_apply(text, len, src, cls, &probe, err);
        }
        pathcopy = rc == SYNCQ_OK ? sq_strdup(path) : NULL;
        if (rc == SYNCQ_OK && pathcopy == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory caching %s", src);
        }
        if (rc != SYNCQ_OK) {
            sq_free(text);
            pthread_mutex_unlock(&file_lock);
            return rc;
        }
        sq_free(cache.path);
        sq_free(cache.text);
        cache.path = pathcopy;
        cache.text = text;
        cache.len = len;
        cache.dev = st.st_dev;
        cache.ino = st.st_ino;
        cache.size = st.st_size;
        cache.mtime = st.st_mtim;
    }
    rc = sq_retry_policy_apply(cache.text, cache.len, src, cls, p, err);
    pthread_mutex_unlock(&file_lock);
    return rc;
}

int
sq_retry_policy_for(const syncq_config *cfg, const char *task_policy_json,
                    const char *call_policy_json, int error_class,
                    int max_retries, struct sq_retry_policy *out,
                    syncq_error *err)
{
    struct sq_retry_policy p = *sq_retry_policy_builtin(error_class);
    const char *file = cfg != NULL
                           ? syncq_config_str(cfg, "SYNCQ_RETRY_POLICY_FILE")
                           : "";
    int rc;

    if (p.max_retries == INHERIT) {
        p.max_retries = cfg != NULL ? (int)syncq_config_int(
                                          cfg, "SYNCQ_TASK_MAX_RETRIES")
                                    : 3;
    }
    if (file != NULL && file[0] != '\0') {
        rc = apply_file(file, error_class, &p, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    if (task_policy_json != NULL && task_policy_json[0] != '\0') {
        rc = sq_retry_policy_apply(task_policy_json, strlen(task_policy_json),
                                   "task registry retry policy", error_class,
                                   &p, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    if (call_policy_json != NULL && call_policy_json[0] != '\0') {
        rc = sq_retry_policy_apply(call_policy_json, strlen(call_policy_json),
                                   "task retry policy (per call)",
                                   error_class, &p, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    if (max_retries >= 0) {
        p.max_retries = max_retries > POLICY_MAX_RETRIES ? POLICY_MAX_RETRIES
                                                         : max_retries;
    }
    *out = p;
    return SYNCQ_OK;
}

json_t *
sq_retry_policy_to_json(const struct sq_retry_policy *p)
{
    return json_pack("{s:b, s:I, s:f, s:I, s:i, s:b, s:b}", "retryable",
                     p->retryable, "base_ms", (json_int_t)p->base_ms,
                     "factor", p->factor, "max_ms", (json_int_t)p->max_ms,
                     "max_retries", p->max_retries, "jitter", p->jitter,
                     "dead_letter", p->dead_letter);
}

/* ---- backoff --------------------------------------------------------- */

/* Uniform integer in [0, n], from the fork-safe system generator. */
static int64_t
uniform_upto(int64_t n)
{
    uint64_t range = (uint64_t)n + 1;
    uint64_t limit = UINT64_MAX - UINT64_MAX % range; /* no modulo bias */
    uint64_t r;

    if (n <= 0) {
        return 0;
    }
    do {
        arc4random_buf(&r, sizeof r);
    } while (r >= limit);
    return (int64_t)(r % range);
}

int64_t
sq_retry_backoff_ms(const struct sq_retry_policy *p, int retry_index)
{
    double cap = p->max_ms > 0 ? (double)p->max_ms : 0.0;
    double d;
    int64_t delay;

    if (retry_index < 0) {
        retry_index = 0;
    }
    d = (double)(p->base_ms > 0 ? p->base_ms : 0) *
        pow(p->factor >= 1.0 ? p->factor : 1.0, (double)retry_index);
    if (!(d < cap)) { /* also catches inf and NaN */
        d = cap;
    }
    delay = llround(d);
    if (p->jitter) {
        delay = uniform_upto(delay);
    }
    return delay;
}

enum sq_retry_action
sq_retry_decide(const struct sq_retry_policy *p, int retries_done,
                int64_t retry_after_ms, int64_t *delay_ms)
{
    int64_t d;

    if (delay_ms != NULL) {
        *delay_ms = 0;
    }
    if (!p->retryable || retries_done >= p->max_retries) {
        return p->dead_letter ? SQ_RETRY_DEAD : SQ_RETRY_FAIL;
    }
    d = sq_retry_backoff_ms(p, retries_done);
    if (retry_after_ms > d) {
        d = retry_after_ms; /* the server knows best (Retry-After) */
    }
    if (delay_ms != NULL) {
        *delay_ms = d;
    }
    return SQ_RETRY_AGAIN;
}
