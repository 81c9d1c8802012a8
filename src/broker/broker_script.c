/* SPDX-License-Identifier: MIT
 *
 * broker_script.c: the one generic runner of the broker's Lua (Redis
 * script.c layering). On Redis >= 7 it composes one function library
 * (the prelude lib*.lua once, each <op>.lua a function), loads it on
 * connect when the server lacks that version and calls FCALL; a flushed
 * library is loaded again. Otherwise (older Redis, SYNCQ_BROKER_FUNCTIONS
 * =0, a server refusing FUNCTION) each op is a script, prelude + op,
 * loaded with SCRIPT LOAD and called with EVALSHA, EVAL on NOSCRIPT.
 * lib.lua says how the Lua is put together. Typed wrappers live in the
 * broker_<op>.c files.
 */
#include "broker/broker.h"
#include "broker/broker_io.h"
#include "broker/broker_script_keys.h"
#include "sq_alloc.h"
#include "core/sq_embed.h"
#include "sq_error.h"

#include "core/sq_log.h"
#include "sq_buf.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *script_files[SQ_SCRIPT__COUNT] = {
    [SQ_SCRIPT_ENQUEUE] = "enqueue.lua",   [SQ_SCRIPT_LEASE] = "lease.lua",
    [SQ_SCRIPT_SETTLE] = "settle.lua",     [SQ_SCRIPT_EXTEND] = "extend.lua",
    [SQ_SCRIPT_REVOKE] = "revoke.lua",     [SQ_SCRIPT_PROGRESS] = "progress.lua",
    [SQ_SCRIPT_PROMOTE] = "promote.lua",   [SQ_SCRIPT_BATCH] = "batch.lua",
    [SQ_SCRIPT_POISON] = "poison.lua",
    [SQ_SCRIPT_CHECKPOINT_SAVE] = "checkpoint_save.lua",
    [SQ_SCRIPT_CHECKPOINT_BAD] = "checkpoint_bad.lua",
    [SQ_SCRIPT_RESUME] = "resume.lua",
    [SQ_SCRIPT_DEAD_PURGE] = "dead_purge.lua",
    [SQ_SCRIPT_RATELIMIT] = "ratelimit.lua",
    [SQ_SCRIPT_BEAT] = "beat.lua",
    [SQ_SCRIPT_BEAT_LOCK] = "beat_lock.lua",
    [SQ_SCRIPT_SCHEDULE_PUT] = "schedule_put.lua",
    [SQ_SCRIPT_SCHEDULE_TICK] = "schedule_tick.lua",
    [SQ_SCRIPT_BATCH_DISPATCH] = "batch_dispatch.lua",
};

/* Scripts that may run twice when a lost connection hides whether the
 * first call ran (sq_client_may_resend): idempotent, or fenced so the
 * second run changes nothing and answers like the first. The audit of
 * every script is in docs/internals.md ("Sending a call again"). */
static const bool resend_safe[SQ_SCRIPT__COUNT] = {
    [SQ_SCRIPT_SETTLE] = true,          [SQ_SCRIPT_EXTEND] = true,
    [SQ_SCRIPT_PROMOTE] = true,         [SQ_SCRIPT_POISON] = true,
    [SQ_SCRIPT_CHECKPOINT_SAVE] = true, [SQ_SCRIPT_CHECKPOINT_BAD] = true,
    [SQ_SCRIPT_BEAT] = true,            [SQ_SCRIPT_BEAT_LOCK] = true,
};

/* Composed texts, built once per process (read-only afterwards): the
 * script of each op (EVAL / EVALSHA) and the function library (FUNCTION
 * LOAD / FCALL) with its function names. */
static char *sources[SQ_SCRIPT__COUNT];
static size_t source_lens[SQ_SCRIPT__COUNT];
static char *library;
static size_t library_len;
static char library_name[32]; /* syncq_<version> */
static char fnames[SQ_SCRIPT__COUNT][48];
static pthread_once_t compose_once = PTHREAD_ONCE_INIT;
static const char *compose_missing; /* a file missing from the build */

/* The prelude, in order (each part uses only those before it); the
 * final states come first, from the C table (core/sq_task.c). */
static const char *prelude_files[] = {"lib.lua", "lib_stats.lua",
                                      "lib_task.lua", "lib_batch.lua",
                                      "lib_call.lua"};
#define NPRELUDE (sizeof prelude_files / sizeof prelude_files[0])

/* Append the states table and the prelude to `b`. */
static int
add_prelude(struct sq_buf *b, const char *locals)
{
    char states[256];
    int bad;

    sq_task_lua_states(states, sizeof states);
    bad = sq_buf_adds(b, states) | sq_buf_adds(b, locals);
    for (size_t i = 0; i < NPRELUDE; i++) {
        const struct sq_embedded *e = sq_embed_find(sq_lua_files,
                                                    prelude_files[i]);
        if (e == NULL) {
            compose_missing = prelude_files[i];
            return -1;
        }
        bad |= sq_buf_add(b, e->data, e->len) | sq_buf_adds(b, "\n");
    }
    return bad;
}

char *
sq_script_source(enum sq_script_id id)
{
    const struct sq_embedded *op;
    struct sq_buf b;

    if (id < 0 || id >= SQ_SCRIPT__COUNT) {
        return NULL;
    }
    op = sq_embed_find(sq_lua_files, script_files[id]);
    if (op == NULL) {
        compose_missing = script_files[id];
        return NULL;
    }
    sq_buf_init(&b, 0);
    /* a script gets KEYS and ARGV as globals: the prelude's locals */
    if (add_prelude(&b, "local KEYS, ARGV = KEYS, ARGV\n") != 0 ||
        sq_buf_adds(&b, "sq_begin()\n") != 0 ||
        sq_buf_add(&b, op->data, op->len) != 0 ||
        sq_buf_adds(&b, "\n") != 0) {
        sq_buf_cleanup(&b);
        return NULL;
    }
    return sq_buf_steal(&b);
}

/* FNV-1a, 64 bits: the library's version in its name, so processes of
 * different builds each load (and call) their own. */
static uint64_t
fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The library: "#!lua name=syncq_<version>", the prelude once, then each
 * op as function sq_<version>_<op>(keys, args). */
static char *
library_source(void)
{
    struct sq_buf body, lib;
    uint64_t h = 14695981039346656037ULL;
    char ver[17];
    int bad = 0;

    sq_buf_init(&body, 0);
    if (add_prelude(&body, "local KEYS, ARGV\n") != 0) {
        sq_buf_cleanup(&body);
        return NULL;
    }
    for (int i = 0; i < SQ_SCRIPT__COUNT; i++) {
        h = fnv1a(h, sources[i], source_lens[i]);
    }
    snprintf(ver, sizeof ver, "%016llx", (unsigned long long)h);
    snprintf(library_name, sizeof library_name, "syncq_%s", ver);
    sq_buf_init(&lib, 0);
    bad |= sq_buf_printf(&lib, "#!lua name=syncq_%s\n", ver);
    bad |= sq_buf_add(&lib, body.data, body.len);
    sq_buf_cleanup(&body);
    for (int i = 0; i < SQ_SCRIPT__COUNT && bad == 0; i++) {
        const struct sq_embedded *op = sq_embed_find(sq_lua_files,
                                                     script_files[i]);
        int n = (int)(strlen(script_files[i]) - 4); /* without ".lua" */
        snprintf(fnames[i], sizeof fnames[i], "sq_%s_%.*s", ver, n,
                 script_files[i]);
        bad |= sq_buf_printf(&lib, "redis.register_function('%s', "
                             "function(keys, args)\nKEYS, ARGV = keys, "
                             "args\nsq_begin()\n", fnames[i]);
        bad |= sq_buf_add(&lib, op->data, op->len);
        bad |= sq_buf_adds(&lib, "\nend)\n");
    }
    if (bad != 0) {
        sq_buf_cleanup(&lib);
        return NULL;
    }
    return sq_buf_steal(&lib);
}

static void
compose(void)
{
    for (int i = 0; i < SQ_SCRIPT__COUNT; i++) {
        sources[i] = sq_script_source((enum sq_script_id)i);
        if (sources[i] == NULL) {
            return;
        }
        source_lens[i] = strlen(sources[i]);
    }
    library = library_source();
    if (library != NULL) {
        library_len = strlen(library);
    }
}

static int
compose_all(syncq_error *err)
{
    pthread_once(&compose_once, compose);
    if (library == NULL) {
        return sq_fail(err, SYNCQ_EINTERNAL, "broker script %s missing from "
                       "the build (or out of memory composing them)",
                       compose_missing != NULL ? compose_missing : "?");
    }
    return SYNCQ_OK;
}

const char *
sq_script_fname(enum sq_script_id id)
{
    return id >= 0 && id < SQ_SCRIPT__COUNT ? fnames[id] : "";
}

/* An error reply to a load: NOAUTH, an outage (LOADING, BUSY) or a
 * broken script. */
static int
load_error(syncq_client *c, const char *what, const char *msg,
           syncq_error *err)
{
    if (strncmp(msg, "NOAUTH", 6) == 0) {
        return sq_fail(err, SYNCQ_EAUTH,
                       "Redis at %s needs a password (NOAUTH): put it in the "
                       "URL, redis://:PASSWORD@host:port/db",
                       c->url_shown);
    }
    return sq_fail(err,
                   sq_fault_classify(msg) == SQ_FAULT_TRANSIENT
                       ? SYNCQ_ECONN
                       : SYNCQ_EPROTO,
                   "loading broker %s: %s", what, msg);
}

static int
lost_while(syncq_client *c, const char *what, syncq_error *err)
{
    return sq_fail(err, SYNCQ_ECONN, "Redis at %s: %s while loading %s",
                   c->url_shown,
                   c->rc->errstr[0] ? c->rc->errstr : "connection lost",
                   what);
}

/* Load every script into the server's cache (pipelined SCRIPT LOAD). */
static int
load_scripts(syncq_client *c, syncq_error *err)
{
    int rc = SYNCQ_OK;

    for (int i = 0; i < SQ_SCRIPT__COUNT; i++) {
        const char *argv[3] = {"SCRIPT", "LOAD", sources[i]};
        size_t lens[3] = {6, 4, source_lens[i]};
        sq_conn_append_argv(c, 3, argv, lens);
    }
    for (int i = 0; i < SQ_SCRIPT__COUNT; i++) {
        void *r = NULL;
        redisReply *rep;
        if (sq_conn_get_reply(c, &r) != REDIS_OK || r == NULL) {
            return lost_while(c, "scripts", err);
        }
        rep = r;
        if (rep->type == REDIS_REPLY_ERROR && rc == SYNCQ_OK) {
            rc = load_error(c, script_files[i], rep->str, err);
        } else if (rep->type == REDIS_REPLY_STRING) {
            snprintf(c->sha[i], sizeof c->sha[i], "%s", rep->str);
        }
        freeReplyObject(rep);
    }
    return rc;
}

static bool told_no_functions;

/* True when the server already has this build's library. Asked before
 * loading because FUNCTION LOAD sends the whole library (tens of KB) on
 * every connect, and Redis refuses it as a write near maxmemory (its
 * query buffer counts) even when the library is there: a client must
 * still connect to a server that is nearly full. The name holds no glob
 * character, so LIBRARYNAME matches it exactly. */
static bool
library_present(syncq_client *c)
{
    redisReply *r = sq_conn_command(c, "FUNCTION LIST LIBRARYNAME %s",
                                    library_name);
    bool yes = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0;

    if (r != NULL) {
        freeReplyObject(r);
    }
    return yes;
}

/* Load the function library unless the server has it (its name carries
 * its version). Sets c->fcall. A server that refuses functions (an ACL
 * without FUNCTION, a proxy) leaves c->fcall false: scripts then. */
static int
load_library(syncq_client *c, syncq_error *err)
{
    const char *argv[3] = {"FUNCTION", "LOAD", library};
    size_t lens[3] = {8, 4, library_len};
    redisReply *r;
    int rc = SYNCQ_OK;

    c->fcall = false;
    if (library_present(c)) {
        c->fcall = true;
        return SYNCQ_OK;
    }
    r = sq_conn_command_argv(c, 3, argv, lens);
    if (r == NULL) {
        return lost_while(c, "functions", err);
    }
    if (r->type != REDIS_REPLY_ERROR || strstr(r->str, "already exists")) {
        c->fcall = true;
    } else if (strncmp(r->str, "NOAUTH", 6) == 0 ||
               sq_fault_classify(r->str) == SQ_FAULT_TRANSIENT) {
        rc = load_error(c, "functions", r->str, err);
    } else if (!__atomic_exchange_n(&told_no_functions, true,
                                    __ATOMIC_RELAXED)) {
        /* an ACL role without FUNCTION LOAD (scripts/syncq-acl): once
         * per process, not per connect */
        SQ_INFO("broker.no_functions", "url=%s err=\"%.200s\" "
                "using=scripts", c->url_shown, r->str);
    }
    freeReplyObject(r);
    return rc;
}

/* The server's version (status, feature checks), from INFO server. */
static void
read_version(syncq_client *c)
{
    redisReply *r = sq_conn_command(c, "INFO server");

    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        const char *v = strstr(r->str, "redis_version:");
        if (v != NULL) {
            size_t n = strcspn(v + 14, "\r\n");
            if (n >= sizeof c->redis_version) {
                n = sizeof c->redis_version - 1;
            }
            memcpy(c->redis_version, v + 14, n);
            c->redis_version[n] = '\0';
        }
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
}

int
sq_script_load_all(syncq_client *c, syncq_error *err)
{
    int rc = compose_all(err);
    long major;

    if (rc != SYNCQ_OK) {
        return rc;
    }
    read_version(c);
    major = strtol(c->redis_version, NULL, 10);
    if (c->redis_version[0] != '\0' && major < 5) {
        return sq_fail(err, SYNCQ_ENOTSUP,
                       "Redis %s at %s is too old: syncq needs Redis >= 5 "
                       "(streams)",
                       c->redis_version, c->url_shown);
    }
    c->fcall = false;
    if (major >= 7 && syncq_config_bool(c->cfg, "SYNCQ_BROKER_FUNCTIONS")) {
        rc = load_library(c, err);
    }
    if (rc == SYNCQ_OK && !c->fcall) {
        rc = load_scripts(c, err);
    }
    return rc;
}

void
sq_args_init(struct sq_args *a)
{
    memset(a, 0, sizeof *a);
}

void
sq_args_cleanup(struct sq_args *a)
{
    for (size_t i = 0; i < a->nowned; i++) {
        sq_free(a->owned[i]);
    }
    sq_free(a->owned);
    sq_free(a->argv);
    sq_free(a->lens);
    memset(a, 0, sizeof *a);
}

static int
reserve(struct sq_args *a)
{
    if (a->n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        const char **argv = sq_realloc(a->argv, cap * sizeof *argv);
        size_t *lens;
        if (argv == NULL) {
            a->oom = true;
            return -1;
        }
        a->argv = argv;
        lens = sq_realloc(a->lens, cap * sizeof *lens);
        if (lens == NULL) {
            a->oom = true;
            return -1;
        }
        a->lens = lens;
        a->cap = cap;
    }
    return 0;
}

void
sq_args_addn(struct sq_args *a, const char *s, size_t n)
{
    if (a->oom || reserve(a) != 0) {
        return;
    }
    a->argv[a->n] = s;
    a->lens[a->n] = n;
    a->n++;
}

void
sq_args_add(struct sq_args *a, const char *s)
{
    sq_args_addn(a, s, strlen(s));
}

static int
keep_owned(struct sq_args *a, char *s)
{
    if (s == NULL) {
        a->oom = true;
        return -1;
    }
    if (a->nowned + 1 > a->capowned) {
        size_t cap = a->capowned ? a->capowned * 2 : 16;
        char **o = sq_realloc(a->owned, cap * sizeof *o);
        if (o == NULL) {
            sq_free(s);
            a->oom = true;
            return -1;
        }
        a->owned = o;
        a->capowned = cap;
    }
    a->owned[a->nowned++] = s;
    return 0;
}

void
sq_args_take(struct sq_args *a, char *s)
{
    if (a->oom) {
        sq_free(s);
        return;
    }
    if (keep_owned(a, s) == 0) {
        sq_args_add(a, s);
    }
}

void
sq_args_own(struct sq_args *a, char *s)
{
    if (a->oom) {
        sq_free(s);
        return;
    }
    (void)keep_owned(a, s);
}

void
sq_args_set_take(struct sq_args *a, size_t pos, char *s)
{
    if (a->oom || pos >= a->n) {
        sq_free(s);
        a->oom = true;
        return;
    }
    if (keep_owned(a, s) == 0) {
        a->argv[pos] = s;
        a->lens[pos] = strlen(s);
    }
}

void
sq_args_addf(struct sq_args *a, const char *fmt, ...)
{
    va_list ap;
    char buf[256];
    int n;

    if (a->oom) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        a->oom = true;
        return;
    }
    if ((size_t)n < sizeof buf) {
        sq_args_take(a, sq_strdup(buf));
        return;
    }
    {
        char *s = sq_malloc((size_t)n + 1);
        if (s == NULL) {
            a->oom = true;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
        sq_args_take(a, s);
    }
}

void
sq_args_addll(struct sq_args *a, long long v)
{
    sq_args_addf(a, "%lld", v);
}

/* Build "FCALL name K meta keys... cfg args..." (functions), else
 * "EVALSHA sha K meta keys... cfg args..." (or EVAL source ...): K is
 * 1 + the keys the script declares (broker_script_keys.c). The key
 * strings live in the argv block (one free). */
static int
build(syncq_client *c, enum sq_script_id id, const struct sq_args *a,
      bool eval, const char ***argv_out, size_t **lens_out, int *argc_out,
      syncq_error *err)
{
    struct sq_buf keys;
    const char *kdata;
    size_t klen;
    int nk;
    size_t argc;
    const char **argv;
    size_t *lens;
    char *text;

    if (a->oom) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory building call");
    }
    sq_buf_init(&keys, 0);
    if (c->fixed_keys[id] != NULL) {
        nk = c->fixed_nk[id];
    } else {
        nk = sq_script_keys(c->prefix, id, a, &keys);
        if (nk >= 0 && sq_script_keys_fixed(id)) {
            /* the same on every call: kept (NULL data: no keys, "") */
            c->fixed_keys[id] = keys.data != NULL ? keys.data
                                                  : sq_strdup("");
            c->fixed_keys_len[id] = keys.len;
            c->fixed_nk[id] = c->fixed_keys[id] != NULL ? nk : 0;
            sq_buf_init(&keys, 0);
        }
    }
    kdata = c->fixed_keys[id] != NULL ? c->fixed_keys[id] : keys.data;
    klen = c->fixed_keys[id] != NULL ? c->fixed_keys_len[id] : keys.len;
    argc = 5 + (nk > 0 ? (size_t)nk : 0) + a->n;
    argv = nk < 0 ? NULL
                  : sq_malloc(argc * sizeof *argv + klen + 16);
    lens = sq_malloc(argc * sizeof *lens);
    if (argv == NULL || lens == NULL) {
        sq_buf_cleanup(&keys);
        sq_free(argv);
        sq_free(lens);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory building call");
    }
    text = (char *)(argv + argc);
    argv[0] = eval ? "EVAL" : c->fcall ? "FCALL" : "EVALSHA";
    /* The SHA-1 comes from Redis's SCRIPT LOAD reply (sq_script_load_all):
     * hashing here would load libcrypto into every process. */
    argv[1] = eval ? sources[id] : c->fcall ? fnames[id] : c->sha[id];
    snprintf(text, 16, "%d", 1 + nk);
    argv[2] = text;
    argv[3] = c->meta_key;
    if (klen > 0) {
        memcpy(text + 16, kdata, klen);
    }
    sq_buf_cleanup(&keys);
    for (int k = 0, off = 16; k < nk; k++) {
        argv[4 + k] = text + off;
        off += (int)strlen(text + off) + 1;
    }
    argv[4 + nk] = c->cfgarg;
    for (size_t i = 0; i < 5 + (size_t)nk; i++) {
        lens[i] = strlen(argv[i]);
    }
    if (eval) {
        lens[1] = source_lens[id];
    }
    for (size_t i = 0; i < a->n; i++) {
        argv[5 + nk + i] = a->argv[i];
        lens[5 + nk + i] = a->lens[i];
    }
    *argv_out = argv;
    *lens_out = lens;
    *argc_out = (int)argc;
    return SYNCQ_OK;
}

const char *
sq_script_library(size_t *len)
{
    *len = library_len;
    return library;
}

/* Error replies are classified in one place (broker_fault.c). */
static int
script_error(syncq_client *c, enum sq_script_id id, redisReply *r,
             syncq_error *err)
{
    return sq_fault_reply(c, r, script_files[id], err);
}

static int
call_once(syncq_client *c, enum sq_script_id id, const struct sq_args *a,
          redisReply **reply, syncq_error *err)
{
    const char **argv = NULL;
    size_t *lens = NULL;
    int argc;
    redisReply *r;
    int rc;

    *reply = NULL;
    rc = sq_client_ensure(c, false, NULL, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = build(c, id, a, false, &argv, &lens, &argc, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    r = sq_conn_command_argv(c, argc, argv, lens);
    if (r != NULL && c->fcall && r->type == REDIS_REPLY_ERROR &&
        strstr(r->str, "Function not found") != NULL) {
        /* FUNCTION FLUSH, or a server that lost its data: load the
         * library again and send the call once more */
        freeReplyObject(r);
        r = NULL;
        rc = load_library(c, err);
        if (rc == SYNCQ_OK && c->fcall) {
            r = sq_conn_command_argv(c, argc, argv, lens);
        } else if (rc == SYNCQ_OK) {
            rc = load_scripts(c, err); /* functions refused now */
            sq_free(argv);
            sq_free(lens);
            return rc != SYNCQ_OK ? rc : call_once(c, id, a, reply, err);
        }
        if (rc != SYNCQ_OK) {
            sq_free(argv);
            sq_free(lens);
            return rc;
        }
    }
    if (r != NULL && r->type == REDIS_REPLY_ERROR &&
        strncmp(r->str, "NOSCRIPT", 8) == 0) {
        /* Script cache flushed: EVAL sends the source and caches it. */
        freeReplyObject(r);
        sq_free(argv);
        sq_free(lens);
        rc = build(c, id, a, true, &argv, &lens, &argc, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        r = sq_conn_command_argv(c, argc, argv, lens);
    }
    sq_free(argv);
    sq_free(lens);
    if (r == NULL) {
        rc = sq_fail(err, SYNCQ_ECONN, "Redis at %s: %s", c->url_shown,
                     c->rc->errstr[0] ? c->rc->errstr : "connection lost");
        sq_fault_count_conn();
        sq_client_drop(c, c->rc->errstr);
        return rc;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        rc = script_error(c, id, r, err);
        freeReplyObject(r);
        return rc;
    }
    sq_fault_ok(c);
    *reply = r;
    return SYNCQ_OK;
}

int
sq_script_call(syncq_client *c, enum sq_script_id id, const struct sq_args *a,
               redisReply **reply, syncq_error *err)
{
    for (int tries = 0;; tries++) {
        int rc = call_once(c, id, a, reply, err);
        if (rc != SYNCQ_ECONN || tries > 0 ||
            !sq_client_may_resend(c, resend_safe[id], script_files[id])) {
            return rc;
        }
    }
}

static int
append(syncq_client *c, enum sq_script_id id, const struct sq_args *a,
       bool idle, syncq_error *err)
{
    const char **argv = NULL;
    size_t *lens = NULL;
    int argc;
    int rc;

    rc = idle ? sq_client_ensure(c, false, NULL, err) : SYNCQ_OK;
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = build(c, id, a, false, &argv, &lens, &argc, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    rc = sq_conn_append_argv(c, argc, argv, lens);
    sq_free(argv);
    sq_free(lens);
    if (rc != REDIS_OK) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory queueing a call");
    }
    return SYNCQ_OK;
}

int
sq_script_append(syncq_client *c, enum sq_script_id id,
                 const struct sq_args *a, syncq_error *err)
{
    return append(c, id, a, true, err);
}

int
sq_script_append_busy(syncq_client *c, enum sq_script_id id,
                      const struct sq_args *a, syncq_error *err)
{
    if (c->rc == NULL) {
        return sq_script_append(c, id, a, err);
    }
    return append(c, id, a, false, err);
}

/* NOSCRIPT cannot happen in a pipeline right after sq_client_ensure
 * loaded the scripts, unless someone ran SCRIPT FLUSH in between: then
 * the caller's retry reconnects (we drop the connection here). */

int
sq_script_reply_check(syncq_client *c, enum sq_script_id id, redisReply *r,
                      syncq_error *err)
{
    if (r->type != REDIS_REPLY_ERROR) {
        sq_fault_ok(c);
        return SYNCQ_OK;
    }
    return script_error(c, id, r, err); /* NOSCRIPT: reconnect, reload */
}
