/* SPDX-License-Identifier: MIT
 *
 * mon_alert_rules.c: the alert rules file: the built-in default rules,
 * metric and comparison names, and the parser (hard limits on bytes,
 * lines, rules; every error names the line). Evaluating the rules is
 * mon_alerts.c's job. See mon_alerts.h and docs/monitor.md.
 */
#include "monitor/mon_alerts.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "monitor/mon_post.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char sq_alert_default_rules[] =
    "# syncq default alert rules (format: docs/monitor.md, \"Alert "
    "rules\").\n"
    "#\n"
    "#   <name>: <metric>[{queue=..., task=...}] <op> <threshold> "
    "[options]\n"
    "#   options: for <duration>   true this long before firing (default "
    "0)\n"
    "#            window <duration> aggregation window of counted metrics "
    "(5m)\n"
    "#            keep <duration>  clear this long before resolving "
    "(default 0)\n"
    "#            clear <value>    resolve only once the value is past "
    "this\n"
    "#            severity info|warning|critical (default warning)\n"
    "#            summary \"text\"\n"
    "high_error_rate: error_rate > 10% window 5m for 2m clear 5% severity "
    "critical summary \"more than 10% of tasks fail\"\n"
    "crawler_backlog: queue_depth{queue=crawler} > 10000 for 5m clear 8000 "
    "severity warning summary \"crawler queue backlog over 10,000\"\n"
    "no_worker_heartbeat: heartbeat_age > 30s for 30s keep 30s severity "
    "critical summary \"no worker heartbeat for 60 s (age over 30 s for "
    "30 s)\"\n"
    "dead_letters: dead_letter > 0 severity warning summary \"tasks in the "
    "dead-letter queue\"\n"
    "redis_memory: memory_ratio >= 80% for 1m clear 75% severity critical "
    "summary \"Redis at 80% of maxmemory (C34)\"\n"
    "replicas_behind: replicas_missing > 0 for 30s severity critical "
    "summary \"fewer replicas in sync than SYNCQ_BROKER_MIN_REPLICAS: "
    "enqueues and outcomes are not acknowledged\"\n"
    "broker_failover: failover_age < 600 severity warning summary \"Redis "
    "failed over to a new master in the last 10 minutes\"\n"
    "queue_unserved: unserved_queues > 0 for 1m severity critical summary "
    "\"a queue has ready tasks and no live worker consuming it\"\n";

static const char *metric_names[SQ_AM__COUNT] = {
    "error_rate",   "failed",        "succeeded",   "sent",
    "retried",      "dead",          "lost",        "throughput",
    "runtime_mean", "runtime_p95",   "wait_mean",   "queue_depth",
    "delayed",      "running",       "dead_letter", "workers_alive",
    "heartbeat_age", "memory_ratio", "poison", "replicas_missing",
    "failover_age", "unserved_queues"};

static const char *op_names[] = {">", ">=", "<", "<=", "==", "!="};

const char *
sq_alert_metric_name(int m)
{
    return m >= 0 && m < SQ_AM__COUNT ? metric_names[m] : "?";
}

const char *
sq_alert_op_name(int op)
{
    return op >= 0 && op <= SQ_OP_NE ? op_names[op] : "?";
}

void
sq_alert_rules_cleanup(struct sq_alert_rules *rules)
{
    sq_free(rules->r);
    rules->r = NULL;
    rules->n = 0;
}

/* ---- parser ------------------------------------------------------------ */

struct lex {
    const char *p, *end;
    int line;
    syncq_error *err;
};

static void
skip_ws(struct lex *L)
{
    while (L->p < L->end && (*L->p == ' ' || *L->p == '\t')) {
        L->p++;
    }
}

static bool
at_end(struct lex *L)
{
    skip_ws(L);
    return L->p >= L->end || *L->p == '#';
}

/* A bare word of [A-Za-z0-9_.%:-] into out. */
static size_t
word(struct lex *L, char *out, size_t cap)
{
    size_t n = 0;

    skip_ws(L);
    while (L->p < L->end &&
           (isalnum((unsigned char)*L->p) || strchr("_.%-+", *L->p))) {
        if (n + 1 < cap) {
            out[n] = *L->p;
        }
        n++;
        L->p++;
    }
    out[n < cap ? n : cap - 1] = '\0';
    return n;
}

static int
bad(struct lex *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad(struct lex *L, const char *fmt, ...)
{
    char m[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return sq_fail(L->err, SYNCQ_EINVAL, "alert rules line %d: %s", L->line,
                   m);
}

/* A quoted string ("..." with \" and \\) or a bare word into out. */
static int
value_text(struct lex *L, char *out, size_t cap)
{
    size_t n = 0;

    skip_ws(L);
    if (L->p < L->end && *L->p == '"') {
        L->p++;
        while (L->p < L->end && *L->p != '"') {
            char ch = *L->p++;
            if (ch == '\\' && L->p < L->end) {
                ch = *L->p++;
            }
            if ((unsigned char)ch < 0x20) {
                return bad(L, "%scontrol character in a quoted string", "");
            }
            if (n + 1 >= cap) {
                return bad(L, "%squoted string too long", "");
            }
            out[n++] = ch;
        }
        if (L->p >= L->end) {
            return bad(L, "%sunterminated quoted string", "");
        }
        L->p++;
        out[n] = '\0';
        return SYNCQ_OK;
    }
    n = word(L, out, cap);
    if (n == 0) {
        return bad(L, "%sexpected a value", "");
    }
    if (n >= cap) {
        return bad(L, "value '%.40s' too long", out);
    }
    return SYNCQ_OK;
}

/* "10%", "0.1", "60s", "500ms", "2m", "1h", "1d", "10_000": a number in
 * the metric's unit (ratio or seconds). */
static int
parse_number(struct lex *L, const char *s, double *out)
{
    char clean[64];
    size_t n = 0;
    char *end;
    double v, mul = 1;

    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '_') {
            continue;
        }
        if (n + 1 >= sizeof clean) {
            return bad(L, "number '%.40s' too long", s);
        }
        clean[n++] = *p;
    }
    clean[n] = '\0';
    errno = 0;
    v = strtod(clean, &end);
    if (end == clean || errno != 0 || isnan(v) || isinf(v)) {
        return bad(L, "'%.40s' is not a number (10, 0.5, 10%%, 60s, 5m)", s);
    }
    if (strcmp(end, "%") == 0) {
        mul = 0.01;
    } else if (strcmp(end, "ms") == 0) {
        mul = 0.001;
    } else if (strcmp(end, "s") == 0) {
        mul = 1;
    } else if (strcmp(end, "m") == 0) {
        mul = 60;
    } else if (strcmp(end, "h") == 0) {
        mul = 3600;
    } else if (strcmp(end, "d") == 0) {
        mul = 86400;
    } else if (*end != '\0') {
        return bad(L, "unknown unit in '%.40s' (%%, ms, s, m, h, d)", s);
    }
    *out = v * mul;
    return SYNCQ_OK;
}

static int
parse_duration(struct lex *L, const char *s, int64_t *ms)
{
    double v;
    int rc = parse_number(L, s, &v);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (strchr(s, '%') != NULL || v < 0 || v > 86400.0 * 365) {
        return bad(L, "duration '%.40s' out of range (0 .. 365d)", s);
    }
    *ms = (int64_t)llround(v * 1000.0);
    return SYNCQ_OK;
}

static bool
valid_label_value(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (!isalnum((unsigned char)*s) && !strchr("_.:-*", *s)) {
            return false;
        }
    }
    return true;
}

static int
parse_labels(struct lex *L, struct sq_alert_rule *r)
{
    L->p++; /* '{' */
    for (;;) {
        char key[16];
        char val[204];
        int rc;
        skip_ws(L);
        if (L->p < L->end && *L->p == '}') {
            L->p++;
            return SYNCQ_OK;
        }
        if (word(L, key, sizeof key) == 0) {
            return bad(L, "%sexpected queue= or task= inside {}", "");
        }
        skip_ws(L);
        if (L->p >= L->end || *L->p != '=') {
            return bad(L, "expected '=' after '%.20s'", key);
        }
        L->p++;
        rc = value_text(L, val, sizeof val);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (!valid_label_value(val)) {
            return bad(L, "bad queue/task name '%.60s'", val);
        }
        if (strcmp(key, "queue") == 0) {
            if (strlen(val) >= sizeof r->queue) {
                return bad(L, "%squeue name too long", "");
            }
            snprintf(r->queue, sizeof r->queue, "%s", val);
        } else if (strcmp(key, "task") == 0) {
            snprintf(r->task, sizeof r->task, "%s", val);
        } else {
            return bad(L, "unknown label '%.20s' (queue, task)", key);
        }
        skip_ws(L);
        if (L->p < L->end && *L->p == ',') {
            L->p++;
        } else if (L->p >= L->end || *L->p != '}') {
            return bad(L, "%sexpected ',' or '}'", "");
        }
    }
}

static int
parse_line(struct lex *L, struct sq_alert_rule *r)
{
    char w[256];
    size_t n;
    int rc;
    bool has_clear = false;

    memset(r, 0, sizeof *r);
    r->line = L->line;
    r->window_ms = 300000;
    snprintf(r->severity, sizeof r->severity, "warning");
    n = word(L, w, sizeof w);
    if (n == 0 || n > 64) {
        return bad(L, "%sexpected a rule name of 1..64 characters "
                      "[A-Za-z0-9_.-]",
                   "");
    }
    for (const char *p = w; *p != '\0'; p++) {
        if (*p == '%' || *p == '+') {
            return bad(L, "bad rule name '%.64s'", w);
        }
    }
    snprintf(r->name, sizeof r->name, "%s", w);
    skip_ws(L);
    if (L->p >= L->end || *L->p != ':') {
        return bad(L, "expected ':' after rule name '%.64s'", w);
    }
    L->p++;
    skip_ws(L);
    n = 0;
    while (L->p < L->end && (isalnum((unsigned char)*L->p) || *L->p == '_')) {
        if (n + 1 < sizeof w) {
            w[n++] = *L->p;
        }
        L->p++;
    }
    w[n] = '\0';
    r->metric = -1;
    for (int m = 0; m < SQ_AM__COUNT; m++) {
        if (strcmp(w, metric_names[m]) == 0) {
            r->metric = m;
        }
    }
    if (r->metric < 0) {
        return bad(L,
                   "unknown metric '%.40s' (error_rate failed succeeded sent "
                   "retried dead lost throughput runtime_mean runtime_p95 "
                   "wait_mean queue_depth delayed running dead_letter "
                   "workers_alive heartbeat_age memory_ratio poison "
                   "replicas_missing failover_age unserved_queues)",
                   w);
    }
    if (L->p < L->end && *L->p == '{') {
        rc = parse_labels(L, r);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    skip_ws(L);
    n = 0;
    while (L->p < L->end && strchr("<>=!", *L->p) && n < 3) {
        w[n++] = *L->p++;
    }
    w[n] = '\0';
    r->op = -1;
    for (int o = 0; o <= SQ_OP_NE; o++) {
        if (strcmp(w, op_names[o]) == 0) {
            r->op = o;
        }
    }
    if (r->op < 0) {
        return bad(L, "expected a comparison (> >= < <= == !=), got '%.4s'",
                   w);
    }
    rc = value_text(L, w, sizeof w);
    if (rc == SYNCQ_OK) {
        rc = parse_number(L, w, &r->threshold);
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    while (!at_end(L)) {
        char key[16];
        char val[256];
        if (word(L, key, sizeof key) == 0) {
            return bad(L, "unexpected '%.1s'", L->p);
        }
        rc = value_text(L, val, sizeof val);
        if (rc != SYNCQ_OK) {
            return rc;
        }
        if (strcmp(key, "for") == 0) {
            rc = parse_duration(L, val, &r->for_ms);
        } else if (strcmp(key, "window") == 0) {
            rc = parse_duration(L, val, &r->window_ms);
            if (rc == SYNCQ_OK &&
                (r->window_ms < 60000 || r->window_ms > 3600000)) {
                rc = bad(L, "window '%.20s' out of range (1m .. 1h)", val);
            }
        } else if (strcmp(key, "keep") == 0) {
            rc = parse_duration(L, val, &r->keep_ms);
        } else if (strcmp(key, "clear") == 0) {
            rc = parse_number(L, val, &r->clear);
            has_clear = true;
        } else if (strcmp(key, "severity") == 0) {
            if (strcmp(val, "info") != 0 && strcmp(val, "warning") != 0 &&
                strcmp(val, "critical") != 0) {
                rc = bad(L, "severity '%.20s' is not info, warning or "
                            "critical",
                         val);
            } else {
                snprintf(r->severity, sizeof r->severity, "%s", val);
            }
        } else if (strcmp(key, "summary") == 0) {
            snprintf(r->summary, sizeof r->summary, "%s", val);
        } else {
            rc = bad(L, "unknown option '%.16s' (for window keep clear "
                        "severity summary)",
                     key);
        }
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    if (!has_clear) {
        r->clear = r->threshold;
    } else {
        /* The clear level must lie on the "ok" side of the threshold. */
        bool ok = true;
        if (r->op == SQ_OP_GT || r->op == SQ_OP_GE) {
            ok = r->clear <= r->threshold;
        } else if (r->op == SQ_OP_LT || r->op == SQ_OP_LE) {
            ok = r->clear >= r->threshold;
        }
        if (!ok) {
            return bad(L, "%sclear level is on the firing side of the "
                          "threshold",
                       "");
        }
    }
    return SYNCQ_OK;
}

int
sq_alert_rules_parse(const char *text, size_t len, struct sq_alert_rules *out,
                     syncq_error *err)
{
    struct lex L;
    const char *p = text;
    const char *end = text + len;
    size_t cap = 0;
    int rc = SYNCQ_OK;

    out->r = NULL;
    out->n = 0;
    if (len > SQ_ALERT_MAX_FILE) {
        return sq_fail(err, SYNCQ_ETOOBIG,
                       "alert rules: %zu bytes, limit %d", len,
                       SQ_ALERT_MAX_FILE);
    }
    L.line = 0;
    L.err = err;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        L.line++;
        L.p = p;
        L.end = le;
        if (le > p && le[-1] == '\r') {
            L.end--;
        }
        if (le - p > SQ_ALERT_MAX_LINE) {
            rc = sq_fail(err, SYNCQ_ETOOBIG,
                         "alert rules line %d: over %d bytes", L.line,
                         SQ_ALERT_MAX_LINE);
            break;
        }
        if (memchr(p, '\0', (size_t)(le - p)) != NULL) {
            rc = sq_fail(err, SYNCQ_EINVAL, "alert rules line %d: NUL byte",
                         L.line);
            break;
        }
        if (!at_end(&L)) {
            struct sq_alert_rule r;
            rc = parse_line(&L, &r);
            if (rc != SYNCQ_OK) {
                break;
            }
            for (size_t i = 0; i < out->n; i++) {
                if (strcmp(out->r[i].name, r.name) == 0) {
                    rc = sq_fail(err, SYNCQ_EINVAL,
                                 "alert rules line %d: rule '%s' already "
                                 "defined on line %d",
                                 L.line, r.name, out->r[i].line);
                    break;
                }
            }
            if (rc != SYNCQ_OK) {
                break;
            }
            if (out->n >= SQ_ALERT_MAX_RULES) {
                rc = sq_fail(err, SYNCQ_ETOOBIG,
                             "alert rules: more than %d rules",
                             SQ_ALERT_MAX_RULES);
                break;
            }
            if (out->n == cap) {
                size_t nc = cap ? cap * 2 : 8;
                struct sq_alert_rule *nr =
                    sq_realloc(out->r, nc * sizeof *nr);
                if (nr == NULL) {
                    rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
                    break;
                }
                out->r = nr;
                cap = nc;
            }
            out->r[out->n++] = r;
        }
        p = nl != NULL ? nl + 1 : end;
    }
    if (rc != SYNCQ_OK) {
        sq_alert_rules_cleanup(out);
    }
    return rc;
}

int
sq_alert_rules_load(const char *path, struct sq_alert_rules *out,
                    syncq_error *err)
{
    FILE *f;
    char *buf;
    size_t n;
    int rc;

    out->r = NULL;
    out->n = 0;
    if (path == NULL || path[0] == '\0') {
        return sq_alert_rules_parse(sq_alert_default_rules,
                                    strlen(sq_alert_default_rules), out, err);
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        return sq_fail_errno(err, SYNCQ_EIO, "cannot read alert rules %s: %s",
                             path, strerror(errno));
    }
    buf = sq_malloc(SQ_ALERT_MAX_FILE + 2);
    if (buf == NULL) {
        fclose(f);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    n = fread(buf, 1, SQ_ALERT_MAX_FILE + 1, f);
    if (ferror(f)) {
        rc = sq_fail_errno(err, SYNCQ_EIO, "cannot read alert rules %s",
                           path);
    } else {
        rc = sq_alert_rules_parse(buf, n, out, err);
        if (rc != SYNCQ_OK && err != NULL) {
            sq_error_prefix(err, path);
        }
    }
    fclose(f);
    sq_free(buf);
    return rc;
}
