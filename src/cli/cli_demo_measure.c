/* SPDX-License-Identifier: MIT
 *
 * cli_demo_measure.c: the figures and checks of `syncq demo --measure`
 * (see cli_demo_measure.h). CPU comes from /proc/<pid>/stat: utime and
 * stime of the process plus cutime and cstime (its reaped children, so a
 * recycled worker child or an ended PostgreSQL backend still counts),
 * plus the same of its live children, recursively. The check's catalog
 * comes from the fixture server over HTTP, as any client would see it.
 */
#include "cli/cli_demo_measure.h"
#include "cli/cli.h"
#include "core/sq_time.h"
#include "db/sq_db.h"
#include "sq_alloc.h"
#include "sq_buf.h"

#include <curl/curl.h>

#include "sq_lazy_curl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PROCS 16
#define MAX_KIDS 1024
#define SNAP_PAGE 5000

struct m_proc {
    char type[48];
    pid_t pid;
    bool worker;
    double cpu[3]; /* seconds at each phase mark */
    char log[600];
    long log_from; /* the log's size when added: this run's lines follow */
};

struct m_kid {
    pid_t pid;
    int proc; /* index of its worker */
    long hwm_kb;
};

struct m_row {
    int64_t id, pmin, pmax;
    char hash[72];
};

struct demo_measure {
    struct m_proc p[MAX_PROCS];
    int n;
    struct m_kid kids[MAX_KIDS];
    int nkids;
    double self_cpu[3];
    unsigned long long busy[3], total[3]; /* machine, jiffies */
    int64_t t_ms[3];
    double load[3];
    int64_t last_sample_ms;
    struct m_row *snap;
    size_t nsnap;
};

struct demo_measure *
demo_measure_new(void)
{
    return calloc(1, sizeof(struct demo_measure));
}

void
demo_measure_free(struct demo_measure *m)
{
    if (m != NULL) {
        free(m->snap);
        free(m);
    }
}

void
demo_measure_add(struct demo_measure *m, const char *type, pid_t pid,
                 bool worker, const char *log_path)
{
    struct m_proc *p;
    struct stat sb;

    if (m->n >= MAX_PROCS || pid <= 0) {
        return;
    }
    p = &m->p[m->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->type, sizeof p->type, "%s", type);
    p->pid = pid;
    p->worker = worker;
    if (log_path != NULL) {
        snprintf(p->log, sizeof p->log, "%s", log_path);
        p->log_from = stat(log_path, &sb) == 0 ? (long)sb.st_size : 0;
    }
}

/* The pids of pid's live children (its main thread's), up to cap. */
static int
children_of(pid_t pid, pid_t *out, int cap)
{
    char path[64];
    FILE *f;
    int n = 0;
    long v;

    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid,
             (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    while (n < cap && fscanf(f, "%ld", &v) == 1) {
        out[n++] = (pid_t)v;
    }
    fclose(f);
    return n;
}

/* CPU seconds of pid: own + reaped children + live children (recursive). */
static double
cpu_tree(pid_t pid, int depth)
{
    char path[64], buf[1024];
    FILE *f;
    size_t len;
    const char *p;
    unsigned long long ut = 0, st = 0;
    long long cut = 0, cst = 0;
    pid_t kids[256];
    int nk;
    double s;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* the command name may hold spaces and ')': fields follow the last */
    p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                                   "%*u %llu %llu %lld %lld",
                            &ut, &st, &cut, &cst) != 4) {
        return 0;
    }
    s = (double)(ut + st + (unsigned long long)cut +
                 (unsigned long long)cst) /
        (double)sysconf(_SC_CLK_TCK);
    if (depth < 4) {
        nk = children_of(pid, kids, 256);
        for (int i = 0; i < nk; i++) {
            s += cpu_tree(kids[i], depth + 1);
        }
    }
    return s;
}

static void
machine_jiffies(unsigned long long *busy, unsigned long long *total)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");

    *busy = *total = 0;
    if (f == NULL) {
        return;
    }
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
        for (int i = 0; i < 8; i++) {
            *total += v[i];
        }
        *busy = *total - v[3] - v[4]; /* minus idle and iowait */
    }
    fclose(f);
}

void
demo_measure_mark(struct demo_measure *m, int phase)
{
    struct rusage ru;

    if (phase < 0 || phase > 2) {
        return;
    }
    for (int i = 0; i < m->n; i++) {
        m->p[i].cpu[phase] = cpu_tree(m->p[i].pid, 0);
    }
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        m->self_cpu[phase] =
            (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
            (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
    machine_jiffies(&m->busy[phase], &m->total[phase]);
    m->t_ms[phase] = sq_mono_ms();
    if (getloadavg(&m->load[phase], 1) != 1) {
        m->load[phase] = -1;
    }
    demo_measure_sample(m);
}

/* VmHWM of pid in KB, or -1. */
static long
hwm_kb(pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    long v = -1;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            v = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

void
demo_measure_sample(struct demo_measure *m)
{
    int64_t now = sq_mono_ms();

    if (now - m->last_sample_ms < 1000) {
        return;
    }
    m->last_sample_ms = now;
    for (int i = 0; i < m->n; i++) {
        pid_t kids[256];
        int nk;
        if (!m->p[i].worker) {
            continue;
        }
        nk = children_of(m->p[i].pid, kids, 256);
        for (int k = 0; k < nk; k++) {
            long kb = hwm_kb(kids[k]);
            int j;
            for (j = 0; j < m->nkids && m->kids[j].pid != kids[k]; j++) {
            }
            if (j == m->nkids) {
                if (m->nkids == MAX_KIDS) {
                    continue;
                }
                m->kids[j].pid = kids[k];
                m->kids[j].proc = i;
                m->kids[j].hwm_kb = -1;
                m->nkids++;
            }
            if (kb > m->kids[j].hwm_kb) {
                m->kids[j].hwm_kb = kb;
            }
        }
    }
}

/* ---- the checks -------------------------------------------------------- */

/* Read every product row (keyset pages) into *rows (sorted by id). */
static int
read_rows(const char *dburl, struct m_row **rows, size_t *n)
{
    struct sq_db *db = NULL;
    syncq_error err;
    int64_t after = -1;
    size_t cap = 0;
    int got;

    *rows = NULL;
    *n = 0;
    if (sq_db_open(dburl, &db, &err) != SYNCQ_OK) {
        fprintf(stderr, "measure: %s\n", err.msg);
        return -1;
    }
    do {
        struct sq_db_stmt *st = NULL;
        int rc;
        got = 0;
        if (sq_db_prepare(db, "SELECT offer_id, content_hash, price_min_fen, "
                              "price_max_fen FROM product WHERE offer_id > ? "
                              "ORDER BY offer_id LIMIT 5000",
                          &st, &err) != SYNCQ_OK) {
            fprintf(stderr, "measure: %s\n", err.msg);
            sq_db_close(db);
            return -1;
        }
        sq_db_bind_i64(st, 1, after);
        while ((rc = sq_db_step(st, &err)) == 1) {
            const char *h = sq_db_col_text(st, 1);
            if (*n == cap) {
                struct m_row *nr;
                cap = cap ? cap * 2 : 8192;
                nr = realloc(*rows, cap * sizeof **rows);
                if (nr == NULL) {
                    sq_db_reset(st);
                    sq_db_close(db);
                    return -1;
                }
                *rows = nr;
            }
            (*rows)[*n].id = sq_db_col_i64(st, 0);
            snprintf((*rows)[*n].hash, sizeof (*rows)[*n].hash, "%s",
                     h ? h : "");
            (*rows)[*n].pmin = sq_db_col_i64(st, 2);
            (*rows)[*n].pmax = sq_db_col_i64(st, 3);
            after = (*rows)[*n].id;
            (*n)++;
            got++;
        }
        if (rc < 0) {
            fprintf(stderr, "measure: %s\n", err.msg);
            sq_db_close(db);
            return -1;
        }
    } while (got == SNAP_PAGE);
    sq_db_close(db);
    return 0;
}

int
demo_measure_snapshot(struct demo_measure *m, const char *dburl)
{
    free(m->snap);
    return read_rows(dburl, &m->snap, &m->nsnap);
}

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    return sq_buf_add(ud, p, size * n) == 0 ? size * n : 0;
}

/* GET base_url + path (the fixture server's JSON) with libcurl. Returns
 * the body (sq_free()) of a 200 answer, or NULL. */
static char *
http_get(const char *base_url, const char *path)
{
    struct sq_buf body;
    char url[512];
    long status = 0;
    CURL *h;
    CURLcode cc;

    if (sq_lazy_curl_load(NULL) != SYNCQ_OK ||
        (h = curl_easy_init()) == NULL) {
        return NULL;
    }
    snprintf(url, sizeof url, "%s%s", base_url, path);
    sq_buf_init(&body, 0);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (cc != CURLE_OK || status != 200) {
        sq_buf_cleanup(&body);
        return NULL;
    }
    return sq_buf_steal(&body);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The ids of json array `a`, sorted (free()). */
static int64_t *
sorted_ids(json_t *a, size_t *n)
{
    int64_t *v;
    size_t i;
    json_t *x;

    *n = json_array_size(a);
    v = malloc((*n ? *n : 1) * sizeof *v);
    if (v == NULL) {
        return NULL;
    }
    json_array_foreach(a, i, x) {
        v[i] = json_is_integer(x) ? json_integer_value(x)
                                  : strtoll(json_string_value(x)
                                                ? json_string_value(x)
                                                : "0",
                                            NULL, 10);
    }
    qsort(v, *n, sizeof *v, cmp_i64);
    return v;
}

static const struct m_row *
find_row(const struct m_row *rows, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rows[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && rows[lo].id == id ? &rows[lo] : NULL;
}

static bool
row_changed(const struct m_row *before, const struct m_row *after)
{
    return before == NULL || strcmp(before->hash, after->hash) != 0 ||
           before->pmin != after->pmin || before->pmax != after->pmax;
}

static bool
check_line(FILE *out, bool ok, const char *what, long long got,
           long long want)
{
    fprintf(out, "  check  %-52s %lld (expected %lld)  %s\n", what, got,
            want, ok ? "ok" : "FAILED");
    return ok;
}

bool
demo_measure_check(struct demo_measure *m, FILE *out, const char *dburl,
                   const char *fixture_url,
                   const struct cli_pipeline_result *res)
{
    char *body = http_get(fixture_url, "/fixture/offers");
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    struct m_row *rows = NULL;
    size_t nrows = 0, noffers = 0, nchanged = 0, missing = 0, rows_changed = 0,
           changed_hit = 0, wrong_price = 0;
    int64_t *offers = NULL, *changed = NULL;
    bool ok = true;

    sq_free(body);
    fprintf(out, "\nchecks against the fixture server's catalog "
                 "(%s/fixture/offers)\n", fixture_url);
    if (j == NULL || read_rows(dburl, &rows, &nrows) != 0 ||
        (offers = sorted_ids(json_object_get(j, "offer_ids"), &noffers)) ==
            NULL ||
        (changed = sorted_ids(json_object_get(j, "changed_ids"),
                              &nchanged)) == NULL) {
        fprintf(out, "  check  could not read the catalog or the database  "
                     "FAILED\n");
        json_decref(j);
        free(rows);
        free(offers);
        return false;
    }
    json_decref(j);
    for (size_t i = 0; i < noffers; i++) {
        if (find_row(rows, nrows, offers[i]) == NULL) {
            missing++;
        }
    }
    ok &= check_line(out, nrows == noffers, "product rows = offers in the "
                                            "catalog", (long long)nrows,
                     (long long)noffers);
    ok &= check_line(out, missing == 0, "catalog offers without their row",
                     (long long)missing, 0);
    ok &= check_line(out, nrows + missing == noffers,
                     "rows of offers not in the catalog",
                     (long long)(nrows + missing - noffers), 0);
    if (m->snap != NULL && m->nsnap > 0) {
        json_t *sp = json_object_get(
            json_object_get(res->steps, "sync_products"), "result");
        for (size_t i = 0; i < nrows; i++) {
            const struct m_row *b = find_row(m->snap, m->nsnap, rows[i].id);
            bool is_changed = bsearch(&rows[i].id, changed, nchanged,
                                      sizeof *changed, cmp_i64) != NULL;
            if (row_changed(b, &rows[i])) {
                rows_changed++;
                changed_hit += is_changed;
                /* the fixture adds 10 fen to every price of the offer */
                if (b != NULL && rows[i].pmin != b->pmin + 10) {
                    wrong_price++;
                }
            }
        }
        ok &= check_line(out, rows_changed == nchanged,
                         "rows changed by this run = changed_ids",
                         (long long)rows_changed, (long long)nchanged);
        ok &= check_line(out, changed_hit == nchanged,
                         "changed rows that are in changed_ids",
                         (long long)changed_hit, (long long)nchanged);
        ok &= check_line(out, wrong_price == 0,
                         "changed rows without the +10 fen price",
                         (long long)wrong_price, 0);
        ok &= check_line(
            out,
            json_integer_value(json_object_get(sp, "updated")) ==
                (json_int_t)nchanged,
            "sync_products updated = changed_ids",
            (long long)json_integer_value(json_object_get(sp, "updated")),
            (long long)nchanged);
        ok &= check_line(
            out, json_integer_value(json_object_get(sp, "inserted")) == 0,
            "sync_products inserted",
            (long long)json_integer_value(json_object_get(sp, "inserted")), 0);
    }
    free(rows);
    free(offers);
    free(changed);
    return ok;
}

/* ---- the report -------------------------------------------------------- */

/* Lines of the log since it was added that contain `a` (and `b`). */
static long
log_count(const struct m_proc *p, const char *a, const char *b)
{
    FILE *f;
    char line[2048];
    long n = 0;

    if (p->log[0] == '\0' || (f = fopen(p->log, "r")) == NULL) {
        return 0;
    }
    if (fseek(f, p->log_from, SEEK_SET) == 0) {
        while (fgets(line, sizeof line, f) != NULL) {
            n += strstr(line, a) != NULL && (b == NULL || strstr(line, b));
        }
    }
    fclose(f);
    return n;
}

/* Requests per second a rate allows, or 0. */
static double
per_s(const char *rate)
{
    int count;
    int64_t period_ms;

    if (rate == NULL || syncq_rate_parse(rate, &count, &period_ms, NULL) !=
                            SYNCQ_OK || period_ms <= 0) {
        return 0;
    }
    return (double)count * 1000.0 / (double)period_ms;
}

static void
print_stages(FILE *out, const struct cli_pipeline_result *res, long offers)
{
    const char *name;
    json_t *t;
    static const char *steps[] = {"sync_suppliers", "sync_products",
                                  "validate_data", "cleanup_duplicates"};

    fprintf(out, "  %-38s %8s %17s %10s\n", "stage (tasks ended)", "tasks",
            "first..last end", "tasks/s");
    json_object_foreach(res->times, name, t) {
        double a = (double)json_integer_value(json_object_get(t, "first_ms")) /
                   1000.0;
        double b = (double)json_integer_value(json_object_get(t, "last_ms")) /
                   1000.0;
        json_int_t n = json_integer_value(json_object_get(t, "ended"));
        fprintf(out, "  %-38s %8lld %7.0fs..%6.0fs %10.1f\n", name,
                (long long)n, a, b,
                b > a ? (double)n / (b - a) : 0.0);
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        json_t *s = json_object_get(res->steps, steps[i]);
        json_int_t ms = json_integer_value(json_object_get(s, "runtime_ms"));
        if (s == NULL) {
            continue;
        }
        fprintf(out, "  data_sync.%-28s %8d %16.1fs %10.0f offers/s\n",
                steps[i], 1, (double)ms / 1000.0,
                ms > 0 ? (double)offers * 1000.0 / (double)ms : 0.0);
    }
}

struct cpu_sums {
    double crawl, db, workers_crawl, redis_crawl, all_crawl;
    int top; /* process index of the largest crawl-phase consumer */
};

static void
print_cpu(struct demo_measure *m, FILE *out, long offers, struct cpu_sums *cs)
{
    double sc = m->self_cpu[1] - m->self_cpu[0];
    double sd = m->self_cpu[2] - m->self_cpu[1];

    memset(cs, 0, sizeof *cs);
    cs->top = -1;
    fprintf(out, "  %-34s %9s %9s %9s %11s\n", "CPU seconds (with children)",
            "crawl", "database", "total", "ms/offer");
    for (int i = 0; i < m->n; i++) {
        const struct m_proc *p = &m->p[i];
        double c = p->cpu[1] - p->cpu[0], d = p->cpu[2] - p->cpu[1];
        fprintf(out, "  %-34s %9.1f %9.1f %9.1f %11.2f\n", p->type, c, d,
                c + d, (c + d) * 1000.0 / (double)offers);
        cs->all_crawl += c;
        cs->db += d;
        if (p->worker) {
            cs->workers_crawl += c;
        }
        if (strcmp(p->type, "redis") == 0) {
            cs->redis_crawl = c;
        }
        if (cs->top < 0 || c > m->p[cs->top].cpu[1] - m->p[cs->top].cpu[0]) {
            cs->top = i;
        }
    }
    fprintf(out, "  %-34s %9.1f %9.1f %9.1f %11.2f\n", "syncq demo (follower)",
            sc, sd, sc + sd, (sc + sd) * 1000.0 / (double)offers);
    cs->all_crawl += sc;
    cs->db += sd;
    cs->crawl = cs->all_crawl;
    fprintf(out, "  %-34s %9.1f %9.1f %9.1f %11.2f\n", "all of the run",
            cs->crawl, cs->db, cs->crawl + cs->db,
            (cs->crawl + cs->db) * 1000.0 / (double)offers);
}

static void
print_rss(struct demo_measure *m, FILE *out)
{
    fprintf(out, "  peak RSS (VmHWM, sampled each second) of each worker "
                 "child:\n");
    for (int i = 0; i < m->n; i++) {
        long peak = -1;
        if (!m->p[i].worker) {
            continue;
        }
        int shown = 0;
        fprintf(out, "    %s (pid:peak):", m->p[i].type);
        for (int k = 0; k < m->nkids; k++) {
            if (m->kids[k].proc == i) {
                fprintf(out, "%s %d:%.1fMB", shown % 8 == 0 ? "\n     " : "",
                        (int)m->kids[k].pid,
                        (double)m->kids[k].hwm_kb / 1024.0);
                shown++;
                if (m->kids[k].hwm_kb > peak) {
                    peak = m->kids[k].hwm_kb;
                }
            }
        }
        fprintf(out, "\n     %d children, max %.1f MB; recycled by the "
                     "memory limit %ld, by task count %ld; children that "
                     "died %ld (by SIGKILL %ld)\n",
                shown, (double)peak / 1024.0,
                log_count(&m->p[i], "worker.child.recycle", "max_memory"),
                log_count(&m->p[i], "worker.child.recycle", "max_tasks"),
                log_count(&m->p[i], "worker.child.died", NULL),
                log_count(&m->p[i], "worker.child.died", "signal 9"));
    }
}

/* The fixture's answered requests: API + pages + shops, and images. */
static void
fixture_requests(const char *fixture_url, long *pages, long *images)
{
    char *body = http_get(fixture_url, "/fixture/stats");
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    json_t *r = json_object_get(j, "requests");

    sq_free(body);
    *pages = (long)(json_integer_value(json_object_get(r, "api")) +
                    json_integer_value(json_object_get(r, "page")) +
                    json_integer_value(json_object_get(r, "shop")));
    *images = (long)json_integer_value(json_object_get(r, "image"));
    json_decref(j);
}

/* The crawl stage whose last task ended last, and when (s). */
static const char *
last_stage(const struct cli_pipeline_result *res, double *at_s)
{
    const char *name, *best = "?";
    json_t *t;
    json_int_t last = -1;

    json_object_foreach(res->times, name, t) {
        json_int_t v = json_integer_value(json_object_get(t, "last_ms"));
        if (v > last) {
            last = v;
            best = name;
        }
    }
    *at_s = (double)last / 1000.0;
    return best;
}

static void
print_bound(struct demo_measure *m, FILE *out, const struct cpu_sums *cs,
            const struct cli_pipeline_result *res, double crawl_s,
            double busy, long pages, long images, double crate, double irate)
{
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double ours = crawl_s > 0 ? cs->crawl / (crawl_s * ncpu) : 0;
    const struct m_proc *top = cs->top >= 0 ? &m->p[cs->top] : NULL;
    double top_c = top ? top->cpu[1] - top->cpu[0] : 0, at_s;
    const char *stage = last_stage(res, &at_s);

    fprintf(out, "  crawl phase: the machine's %d cores were %.0f %% busy "
                 "(this run's processes %.0f %%, other load the rest); "
                 "requests %.1f/s to the pages/API limit of %.0f/s, images "
                 "%.1f/s to %.0f/s\n",
            ncpu, busy * 100, ours * 100, crawl_s > 0 ? pages / crawl_s : 0,
            crate, crawl_s > 0 ? images / crawl_s : 0, irate);
    if (crate > 0 && pages / crawl_s >= 0.85 * crate) {
        fprintf(out, "  bound: the crawler's per-host rate limit (%.0f "
                     "requests/s to the fixture host)\n", crate);
    } else if (irate > 0 && images / crawl_s >= 0.85 * irate) {
        fprintf(out, "  bound: the image host's rate limit (%.0f "
                     "requests/s)\n", irate);
    } else if (busy >= 0.85 && top != NULL) {
        fprintf(out, "  bound: %s (its last task ended at %.0f s, the end "
                     "of the crawl): CPU. The cores were full%s; %s used "
                     "%.0f %% of this run's crawl-phase CPU\n",
                stage, at_s,
                ours < 0.5 * busy ? ", mostly with other load" : "",
                top->type, cs->crawl > 0 ? top_c * 100 / cs->crawl : 0);
    } else {
        fprintf(out, "  bound: %s (its last task ended at %.0f s): latency. "
                     "Neither the cores nor the rate limits were full: "
                     "worker children waited on answers (more children "
                     "would help); the largest CPU consumer was %s\n",
                stage, at_s, top ? top->type : "?");
    }
}

static void
print_projection(FILE *out, const struct cpu_sums *cs, long offers,
                 double crawl_s, double db_s, long pages, long images,
                 double crate, double irate)
{
    double k = 1e6 / (double)offers;
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    double floor_rate = 0, floor_redis = cs->redis_crawl * k;

    if (crate > 0) {
        floor_rate = (double)pages * k / crate;
    }
    if (irate > 0 && (double)images * k / irate > floor_rate) {
        floor_rate = (double)images * k / irate;
    }
    fprintf(out, "\nprojection to 1,000,000 offers (linear in the measured "
                 "per-offer costs)\n");
    fprintf(out, "  on this machine as loaded now: crawl %.1f h + database "
                 "steps %.1f min\n",
            crawl_s * k / 3600.0, db_s * k / 60.0);
    {
        double t = cs->crawl * k / ncpu;
        t = t > floor_redis ? t : floor_redis;
        t = t > floor_rate ? t : floor_rate;
        fprintf(out, "  on this machine with its %d cores to itself (every "
                     "process of the run on it): crawl >= %.1f h + database "
                     "steps %.1f min\n",
                ncpu, t / 3600.0, db_s * k / 60.0);
    }
    fprintf(out, "  crawl CPU: %.1f core-h in all, of which worker children "
                 "%.1f core-h and Redis %.2f core-h (one thread: the crawl "
                 "takes at least %.2f h however many workers)\n",
            cs->crawl * k / 3600.0, cs->workers_crawl * k / 3600.0,
            floor_redis / 3600.0, floor_redis / 3600.0);
    fprintf(out, "  per-host rate limits: at least %.2f h of requests at the "
                 "configured rates\n", floor_rate / 3600.0);
    fprintf(out, "  N worker machines like this one, Redis, PostgreSQL and "
                 "the 1688 side elsewhere:\n");
    for (int n = 1; n <= 16; n *= 2) {
        double w = cs->workers_crawl * k / (double)(n * ncpu);
        double t = w;
        const char *why = "worker CPU";
        if (floor_redis > t) {
            t = floor_redis;
            why = "Redis";
        }
        if (floor_rate > t) {
            t = floor_rate;
            why = "rate limits";
        }
        fprintf(out, "  %4d: crawl >= %.2f h (bound: %s), then database "
                     "steps %.1f min (one child, PostgreSQL-bound: N does "
                     "not shorten them)\n",
                n, t / 3600.0, why, db_s * k / 60.0);
    }
}

/* The database steps' summed runtimes (s): their wall without the
 * follower's polling. */
static double
steps_s(const struct cli_pipeline_result *res)
{
    const char *name;
    json_t *t;
    double s = 0;

    json_object_foreach(res->steps, name, t) {
        s += (double)json_integer_value(json_object_get(t, "runtime_ms")) /
             1000.0;
    }
    return s;
}

void
demo_measure_report(struct demo_measure *m, FILE *out,
                    const struct cli_pipeline_result *res, long offers,
                    const char *fixture_url, const char *crawler_rate,
                    const char *image_rate)
{
    struct cpu_sums cs;
    double crawl_s = (double)(m->t_ms[1] - m->t_ms[0]) / 1000.0;
    double db_s = (double)(m->t_ms[2] - m->t_ms[1]) / 1000.0;
    double busy = m->total[1] > m->total[0]
                      ? (double)(m->busy[1] - m->busy[0]) /
                            (double)(m->total[1] - m->total[0])
                      : 0;
    long pages = 0, images = 0;
    double crate = per_s(crawler_rate), irate = per_s(image_rate);

    fixture_requests(fixture_url, &pages, &images);
    fprintf(out, "\nscale figures (%ld offers; load average %.1f at the "
                 "start, %.1f after the crawl, %.1f at the end)\n",
            offers, m->load[0], m->load[1], m->load[2]);
    fprintf(out, "  wall %.1f s: crawl %.1f s (%.1f offers/s), database "
                 "steps %.1f s\n",
            crawl_s + db_s, crawl_s, crawl_s > 0 ? offers / crawl_s : 0,
            db_s);
    fprintf(out, "  fixture requests answered: %ld pages/API/shops, %ld "
                 "images\n", pages, images);
    print_stages(out, res, offers);
    print_cpu(m, out, offers, &cs);
    print_rss(m, out);
    print_bound(m, out, &cs, res, crawl_s, busy, pages, images, crate, irate);
    print_projection(out, &cs, offers, crawl_s, steps_s(res), pages, images,
                     crate, irate);
    fflush(out);
}
