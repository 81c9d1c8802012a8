/* SPDX-License-Identifier: MIT
 *
 * broker_script_keys.c: the keys each broker script declares after
 * {ns}:meta (broker_script_keys.h). Redis Cluster routes a script by its
 * declared keys: while the namespace's slot is being migrated, a script
 * runs on the source only if every declared key is still there, and on
 * the target (after ASK and ASKING) only if every one has arrived;
 * otherwise the server answers ASK or TRYAGAIN and the script has not
 * run. Keys a script finds as it runs (the records of the ids it pops,
 * the queue of a record, the minute's counters) cannot be named before
 * the call; such scripts also declare {ns}:absent, which never exists,
 * so Redis never runs them mid-migration (docs/redis-keys.md).
 */
#include "broker/broker_script_keys.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One line per script: space-separated tokens, each one key:
 *   name        "<prefix>name"
 *   pre:$N      "<prefix>pre:" + ARGV[N] (left out when ARGV[N] is absent
 *               or empty)
 *   pre:@N      "<prefix>pre:" + each of the ARGV[N] values after ARGV[N]
 *   [op]tok     tok only when ARGV[2] is op; [!op]tok when it is not
 * The Lua scripts name the same keys from the prefix (lib.lua tkey() and
 * the like); this table is what Redis is told. The four hot scripts
 * (enqueue, lease, settle, extend) name the fixed keys of every path they
 * can take (finish(), to_dead(), lose() and batch_done() of lib_task.lua
 * and lib_batch.lua included) and derive the records they pop. */
static const char *const specs[SQ_SCRIPT__COUNT] = {
    [SQ_SCRIPT_ENQUEUE] = "active delayed queues events stats recent bwaves "
                          "absent",
    [SQ_SCRIPT_LEASE] = "active delayed seq queues events stats recent dlq "
                        "dlqn bwaves absent",
    [SQ_SCRIPT_SETTLE] = "active delayed queues events stats recent dlq dlqn "
                         "bwaves absent",
    [SQ_SCRIPT_EXTEND] = "active workers absent",
    [SQ_SCRIPT_REVOKE] = "t:$2 delayed active events stats recent dlq dlqn "
                         "absent",
    [SQ_SCRIPT_PROGRESS] = "t:$2 events",
    [SQ_SCRIPT_PROMOTE] = "delayed active queues events stats recent dlq "
                          "dlqn absent",
    [SQ_SCRIPT_BATCH] = "b:$2 batches queues events stats absent",
    [SQ_SCRIPT_POISON] = "t:$2 active stats events recent dlq dlqn absent",
    [SQ_SCRIPT_CHECKPOINT_SAVE] = "t:$2 cp:$2 events stats absent",
    [SQ_SCRIPT_CHECKPOINT_BAD] = "cp:$2 cpbad:$2 stats events",
    [SQ_SCRIPT_RESUME] = "t:@7 cp:@7 cpbad:@7 delayed active recent queues "
                         "dlq dlqn events stats absent",
    [SQ_SCRIPT_DEAD_PURGE] = "dlq dlqn stats events [ids]t:@3 [ids]cp:@3 "
                             "[ids]cpbad:@3 absent",
    [SQ_SCRIPT_RATELIMIT] = "rl:$3 rlc:$3 rlr:$3",
    [SQ_SCRIPT_BEAT] = "beat:lock beat:nodes beat:node:$2 schedules bwaves "
                       "delayed active queues events stats recent dlq dlqn "
                       "absent",
    [SQ_SCRIPT_BEAT_LOCK] = "beat:lock beat:node:$5",
    [SQ_SCRIPT_SCHEDULE_PUT] = "schedules sched:seq events [!renext]sched:$3 "
                               "[renext]sched:$4 [renext]beat:lock",
    [SQ_SCRIPT_SCHEDULE_TICK] = "beat:lock schedules delayed queues events "
                                "stats absent",
    [SQ_SCRIPT_BATCH_DISPATCH] = "b:$3 bq:$3 bwaves batches queues events "
                                 "stats absent",
};

/* ARGV[n] of the call (ARGV[1], the config, is not in `a`), or NULL. */
static const char *
argv_at(const struct sq_args *a, long n, size_t *len)
{
    if (n < 2 || (size_t)(n - 2) >= a->n) {
        return NULL;
    }
    *len = a->lens[n - 2];
    return a->argv[n - 2];
}

static bool
argv_is(const struct sq_args *a, const char *s, size_t n)
{
    size_t len;
    const char *v = argv_at(a, 2, &len);

    return v != NULL && len == n && memcmp(v, s, n) == 0;
}

/* "<prefix><pre><arg>\0" into out. */
static int
add_key(struct sq_buf *out, const char *prefix, const char *pre,
        size_t npre, const char *arg, size_t narg)
{
    return sq_buf_adds(out, prefix) | sq_buf_add(out, pre, npre) |
           sq_buf_add(out, arg, narg) | sq_buf_add(out, "", 1);
}

/* The keys of one token (without its condition); their count or -1. */
static int
token_keys(const char *prefix, const char *tok, size_t n,
           const struct sq_args *a, struct sq_buf *out)
{
    const char *mark = memchr(tok, '$', n);
    const char *list = memchr(tok, '@', n);
    const char *at = mark != NULL ? mark : list;
    const char *v;
    size_t len;
    long count, k = 0;

    if (at == NULL) {
        return add_key(out, prefix, tok, n, "", 0) != 0 ? -1 : 1;
    }
    if (mark != NULL) {
        v = argv_at(a, strtol(at + 1, NULL, 10), &len);
        if (v == NULL || len == 0) {
            return 0;
        }
        return add_key(out, prefix, tok, (size_t)(at - tok), v, len) != 0
                   ? -1
                   : 1;
    }
    v = argv_at(a, strtol(at + 1, NULL, 10), &len);
    count = v != NULL ? strtol(v, NULL, 10) : 0;
    for (long i = 1; i <= count; i++) {
        const char *id = argv_at(a, strtol(at + 1, NULL, 10) + i, &len);
        if (id == NULL) {
            break; /* a short list: the script refuses it */
        }
        if (add_key(out, prefix, tok, (size_t)(at - tok), id, len) != 0) {
            return -1;
        }
        k++;
    }
    return (int)k;
}

int
sq_script_keys(const char *prefix, enum sq_script_id id,
               const struct sq_args *a, struct sq_buf *out)
{
    const char *p;
    int total = 0;

    if (id < 0 || id >= SQ_SCRIPT__COUNT || specs[id] == NULL) {
        return 0;
    }
    for (p = specs[id]; *p != '\0';) {
        size_t n = strcspn(p, " ");
        const char *tok = p;
        bool take = true;
        int k;

        if (*tok == '[') {
            const char *close = memchr(tok, ']', n);
            bool neg = tok[1] == '!';
            const char *op = tok + 1 + neg;
            take = argv_is(a, op, (size_t)(close - op)) != neg;
            n -= (size_t)(close + 1 - tok);
            tok = close + 1;
        }
        if (take) {
            k = token_keys(prefix, tok, n, a, out);
            if (k < 0) {
                return -1;
            }
            total += k;
        }
        p = tok + n;
        p += strspn(p, " ");
    }
    return total;
}

bool
sq_script_keys_fixed(enum sq_script_id id)
{
    return id >= 0 && id < SQ_SCRIPT__COUNT && specs[id] != NULL &&
           strpbrk(specs[id], "$@[") == NULL;
}

bool
sq_script_ask_safe(enum sq_script_id id)
{
    const char *s;
    size_t n = strlen("absent");

    if (id < 0 || id >= SQ_SCRIPT__COUNT || specs[id] == NULL) {
        return false;
    }
    for (s = strstr(specs[id], "absent"); s != NULL;
         s = strstr(s + 1, "absent")) {
        if ((s == specs[id] || s[-1] == ' ') &&
            (s[n] == '\0' || s[n] == ' ')) {
            return false;
        }
    }
    return true;
}

int
sq_script_named(const syncq_client *c, const char *name, size_t n)
{
    for (int i = 0; i < SQ_SCRIPT__COUNT; i++) {
        const char *f = sq_script_fname((enum sq_script_id)i);
        if ((strlen(f) == n && memcmp(f, name, n) == 0) ||
            (strlen(c->sha[i]) == n && strncasecmp(c->sha[i], name, n) == 0)) {
            return i;
        }
    }
    return -1;
}
