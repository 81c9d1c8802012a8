/* SPDX-License-Identifier: MIT
 *
 * mon_page.c: server-side rendering of the dashboard's pages
 * (mon_page.h): template slots, HTML escaping, the JSON boot snapshot
 * and the first paint's tiles and tables. Formats follow app.js so the
 * script's first redraw changes nothing a person would notice.
 */
#include "monitor/mon_page.h"
#include "sq_alloc.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void
sq_page_esc(struct sq_buf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '&':
            sq_buf_adds(b, "&amp;");
            break;
        case '<':
            sq_buf_adds(b, "&lt;");
            break;
        case '>':
            sq_buf_adds(b, "&gt;");
            break;
        case '"':
            sq_buf_adds(b, "&quot;");
            break;
        case '\'':
            sq_buf_adds(b, "&#39;");
            break;
        default:
            sq_buf_add(b, s, 1);
        }
    }
}

void
sq_page_json(struct sq_buf *b, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    if (s == NULL) {
        sq_buf_adds(b, "null");
        return;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '<') {
            sq_buf_adds(b, "\\u003c");
        } else {
            sq_buf_add(b, p, 1);
        }
    }
    free(s); /* jansson's allocator */
}

char *
sq_page_render(const char *t, size_t len, const char *const *kv)
{
    struct sq_buf b;
    size_t i = 0;

    sq_buf_init(&b, (size_t)64 << 20);
    while (i < len) {
        const char *ob = memmem(t + i, len - i, "{{", 2);
        const char *cb;
        size_t kl;
        if (ob == NULL) {
            sq_buf_add(&b, t + i, len - i);
            break;
        }
        sq_buf_add(&b, t + i, (size_t)(ob - (t + i)));
        cb = memmem(ob + 2, len - (size_t)(ob + 2 - t), "}}", 2);
        if (cb == NULL || cb - ob > 40) {
            sq_buf_add(&b, ob, 2);
            i = (size_t)(ob + 2 - t);
            continue;
        }
        kl = (size_t)(cb - ob - 2);
        for (size_t k = 0; kv != NULL && kv[k] != NULL; k += 2) {
            if (strlen(kv[k]) == kl && memcmp(kv[k], ob + 2, kl) == 0) {
                sq_buf_adds(&b, kv[k + 1] != NULL ? kv[k + 1] : "");
                break;
            }
        }
        i = (size_t)(cb + 2 - t);
    }
    {
        char *out = sq_buf_steal(&b);
        sq_buf_cleanup(&b);
        return out;
    }
}

/* ---- number formats (as app.js's fmt) -------------------------------- */

static double
num(const json_t *v, bool *ok)
{
    *ok = json_is_number(v);
    return *ok ? json_number_value(v) : 0;
}

/* 12345 -> "12,345" */
static void
fmt_n(struct sq_buf *b, const json_t *v)
{
    bool ok;
    double d = num(v, &ok);
    char digits[32], out[48];
    size_t n, w = 0;

    if (!ok) {
        sq_buf_adds(b, "-");
        return;
    }
    snprintf(digits, sizeof digits, "%.0f", d);
    n = strlen(digits);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0) {
            out[w++] = ',';
        }
        out[w++] = digits[i];
    }
    out[w] = '\0';
    sq_buf_adds(b, out);
}

static void
fmt_pct(struct sq_buf *b, const json_t *v)
{
    bool ok;
    double d = num(v, &ok);

    if (!ok) {
        sq_buf_adds(b, "-");
    } else {
        sq_buf_printf(b, "%.1f%%", d * 100);
    }
}

static void
fmt_rate(struct sq_buf *b, const json_t *v)
{
    bool ok;
    double d = num(v, &ok);

    if (!ok) {
        sq_buf_adds(b, "-");
    } else {
        sq_buf_printf(b, "%.2f/s", d);
    }
}

static void
fmt_ms(struct sq_buf *b, const json_t *v)
{
    bool ok;
    double s = num(v, &ok) / 1000.0;

    if (!ok || s < 0) {
        sq_buf_adds(b, "-");
    } else if (s < 1) {
        sq_buf_printf(b, "%.0fms", s * 1000);
    } else if (s < 60) {
        sq_buf_printf(b, "%.1fs", s);
    } else if (s < 3600) {
        sq_buf_printf(b, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    } else {
        sq_buf_printf(b, "%dh%02dm", (int)(s / 3600),
                      (int)fmod(s / 60, 60));
    }
}

static void
fmt_bytes(struct sq_buf *b, const json_t *v)
{
    bool ok;
    double d = num(v, &ok);

    if (!ok) {
        sq_buf_adds(b, "-");
    } else if (d >= 1073741824.0) {
        sq_buf_printf(b, "%.1f GiB", d / 1073741824.0);
    } else if (d >= 1048576.0) {
        sq_buf_printf(b, "%.1f MiB", d / 1048576.0);
    } else {
        sq_buf_printf(b, "%.0f KiB", d / 1024.0);
    }
}

static void
fmt_cpu(struct sq_buf *b, const json_t *v)
{
    bool ok;
    double d = num(v, &ok);

    if (!ok) {
        sq_buf_adds(b, "-");
    } else {
        sq_buf_printf(b, "%.0f%%", d);
    }
}

/* ---- first paint ------------------------------------------------------ */

typedef void (*fmt_fn)(struct sq_buf *, const json_t *);

static void
tile(struct sq_buf *b, const char *label, fmt_fn f, const json_t *v)
{
    sq_buf_adds(b, "<div class=\"tile\"><div class=\"v\">");
    f(b, v);
    sq_buf_adds(b, "</div><div class=\"l\">");
    sq_page_esc(b, label);
    sq_buf_adds(b, "</div></div>");
}

void
sq_page_tiles(struct sq_buf *b, const json_t *snap)
{
    const json_t *s = json_object_get(snap, "system");
    const json_t *t = json_object_get(snap, "totals");
    const json_t *tp = json_object_get(s, "throughput");

    if (snap == NULL) {
        sq_buf_adds(b, "<div class=\"tile\"><div class=\"v\">-</div>"
                       "<div class=\"l\">Redis unreachable</div></div>");
        return;
    }
    tile(b, "success rate (5 min)", fmt_pct,
         json_object_get(s, "success_rate"));
    tile(b, "error rate (5 min)", fmt_pct, json_object_get(s, "error_rate"));
    tile(b, "throughput 1 min", fmt_rate, json_object_get(tp, "1m"));
    tile(b, "throughput 5 min", fmt_rate, json_object_get(tp, "5m"));
    tile(b, "throughput 1 h", fmt_rate, json_object_get(tp, "1h"));
    tile(b, "mean wait (1 h)", fmt_ms, json_object_get(s, "wait_mean_ms"));
    tile(b, "ready", fmt_n, json_object_get(t, "ready"));
    tile(b, "delayed", fmt_n, json_object_get(t, "delayed"));
    tile(b, "running", fmt_n, json_object_get(t, "running"));
    tile(b, "dead-letter", fmt_n, json_object_get(t, "dead"));
    tile(b, "workers alive", fmt_n, json_object_get(t, "workers_alive"));
}

static void
cell(struct sq_buf *b, fmt_fn f, const json_t *v)
{
    sq_buf_adds(b, "<td>");
    f(b, v);
    sq_buf_adds(b, "</td>");
}

static void
cell_text(struct sq_buf *b, const char *s)
{
    sq_buf_adds(b, "<td>");
    sq_page_esc(b, s != NULL ? s : "-");
    sq_buf_adds(b, "</td>");
}

void
sq_page_queue_rows(struct sq_buf *b, const json_t *snap)
{
    const json_t *qs = json_object_get(snap, "queues");
    size_t i;
    const json_t *q;

    if (json_array_size(qs) == 0) {
        sq_buf_adds(b, "<tr><td class=\"empty\" colspan=\"11\">no queue "
                       "yet</td></tr>");
        return;
    }
    json_array_foreach(qs, i, q) {
        const json_t *life = json_object_get(q, "lifetime");
        const char *name = json_string_value(json_object_get(q, "name"));
        sq_buf_adds(b, "<tr data-queue=\"");
        sq_page_esc(b, name);
        sq_buf_adds(b, "\">");
        cell_text(b, name);
        cell(b, fmt_n, json_object_get(q, "ready"));
        cell_text(b, "");
        cell(b, fmt_n, json_object_get(q, "delayed"));
        cell(b, fmt_n, json_object_get(q, "running"));
        cell(b, fmt_n, json_object_get(q, "dead_letter"));
        cell(b, fmt_rate, json_object_get(q, "throughput_5m"));
        cell(b, fmt_pct, json_object_get(q, "error_rate_5m"));
        cell(b, fmt_ms, json_object_get(q, "wait_mean_ms"));
        cell(b, fmt_n, json_object_get(life, "succeeded"));
        cell(b, fmt_n, json_object_get(life, "failed"));
        sq_buf_adds(b, "</tr>");
    }
}

void
sq_page_worker_rows(struct sq_buf *b, const json_t *snap)
{
    const json_t *ws = json_object_get(snap, "workers");
    size_t i;
    const json_t *w;

    if (json_array_size(ws) == 0) {
        sq_buf_adds(b, "<tr><td class=\"empty\" colspan=\"9\">no worker "
                       "heard from in the last hour</td></tr>");
        return;
    }
    json_array_foreach(ws, i, w) {
        const char *id = json_string_value(json_object_get(w, "id"));
        const char *st = json_string_value(json_object_get(w, "state"));
        const json_t *qs = json_object_get(w, "queues");
        size_t k;
        const json_t *qn;
        sq_buf_adds(b, "<tr data-worker=\"");
        sq_page_esc(b, id);
        sq_buf_adds(b, "\">");
        cell_text(b, id);
        cell_text(b, st);
        cell(b, fmt_ms, json_object_get(w, "heartbeat_age_ms"));
        sq_buf_adds(b, "<td>");
        json_array_foreach(qs, k, qn) {
            if (k > 0) {
                sq_buf_adds(b, ", ");
            }
            sq_page_esc(b, json_string_value(qn));
        }
        sq_buf_adds(b, "</td>");
        cell(b, fmt_n, json_object_get(w, "running"));
        cell(b, fmt_n, json_object_get(w, "concurrency"));
        cell(b, fmt_n, json_object_get(w, "done"));
        cell(b, fmt_bytes, json_object_get(w, "rss_bytes"));
        cell(b, fmt_cpu, json_object_get(w, "cpu_percent"));
        sq_buf_adds(b, "</tr>");
    }
}
