/* SPDX-License-Identifier: MIT
 *
 * sq_logwriter.c: format log events as logfmt or JSON lines.
 */
#include "core/sq_logwriter.h"
#include "sq_error.h"
#include "core/sq_log.h"
#include "core/sq_time.h"
#include "sq_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static struct {
    int fd;          /* 2 for stderr */
    bool json;
    char proc[96]; /* "worker", or "worker@ns" (cli_multi.c) */
    char path[1024]; /* empty: stderr */
} lw = {2, false, "syncq", ""};

static const char *level_names[] = {"error", "warn", "info", "debug"};

/* Parse the logfmt pairs of `kv` into `obj` (values kept as strings,
 * numbers as integers when they are plain decimal). */
static void
kv_to_json(const char *kv, json_t *obj)
{
    const char *p = kv;
    char key[128];
    char val[2048];

    while (*p != '\0') {
        size_t k = 0;
        size_t v = 0;
        bool quoted = false;
        while (*p == ' ') {
            p++;
        }
        while (*p != '\0' && *p != '=' && *p != ' ' && k + 1 < sizeof key) {
            key[k++] = *p++;
        }
        key[k] = '\0';
        if (*p != '=') {
            if (k > 0) {
                json_object_set_new(obj, key, json_true());
            }
            continue;
        }
        p++;
        if (*p == '"') {
            quoted = true;
            p++;
            while (*p != '\0' && *p != '"' && v + 1 < sizeof val) {
                if (*p == '\\' && p[1] != '\0') {
                    p++;
                    val[v++] = (*p == 'n') ? '\n' : *p;
                    p++;
                    continue;
                }
                val[v++] = *p++;
            }
            if (*p == '"') {
                p++;
            }
        } else {
            while (*p != '\0' && *p != ' ' && v + 1 < sizeof val) {
                val[v++] = *p++;
            }
        }
        val[v] = '\0';
        if (k == 0) {
            continue;
        }
        char *end = NULL;
        long long n = strtoll(val, &end, 10);
        if (!quoted && v > 0 && end != NULL && *end == '\0' && v < 18) {
            json_object_set_new(obj, key, json_integer(n));
        } else {
            json_object_set_new(obj, key, json_string(val));
        }
    }
}

static void
write_line(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(lw.fd, buf, len);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        buf += w;
        len -= (size_t)w;
    }
}

static void
writer(void *ud, int level, const char *event, const char *kv)
{
    char ts[40];
    char line[4096];
    int n;

    (void)ud;
    if (level < 0 || level > 3) {
        level = 2;
    }
    sq_time_format_iso8601_ms(sq_now_ms(), ts, sizeof ts);
    if (lw.json) {
        json_t *o = json_object();
        char *s;
        if (o == NULL) {
            return;
        }
        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(level_names[level]));
        json_object_set_new(o, "proc", json_string(lw.proc));
        json_object_set_new(o, "pid", json_integer(getpid()));
        json_object_set_new(o, "event", json_string(event));
        kv_to_json(kv, o);
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (s == NULL) {
            return;
        }
        n = snprintf(line, sizeof line, "%s\n", s);
        sq_free(s);
    } else {
        n = snprintf(line, sizeof line,
                     "ts=%s level=%s proc=%s pid=%d event=%s%s%s\n", ts,
                     level_names[level], lw.proc, (int)getpid(), event,
                     (kv != NULL && *kv != '\0') ? " " : "",
                     kv != NULL ? kv : "");
    }
    if (n < 0) {
        return;
    }
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    write_line(line, (size_t)n);
}

static int
open_file(syncq_error *err)
{
    int fd;

    if (lw.path[0] == '\0') {
        lw.fd = 2;
        return SYNCQ_OK;
    }
    fd = open(lw.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        return sq_fail_errno(err, SYNCQ_EIO, "cannot open log file %s: %s",
                             lw.path, strerror(errno));
    }
    if (lw.fd > 2) {
        close(lw.fd);
    }
    lw.fd = fd;
    return SYNCQ_OK;
}

int
sq_logwriter_install(const char *proc, const char *path, bool json,
                     syncq_error *err)
{
    int rc;

    snprintf(lw.proc, sizeof lw.proc, "%s", proc != NULL ? proc : "syncq");
    if (path == NULL || strcmp(path, "-") == 0 || path[0] == '\0') {
        lw.path[0] = '\0';
    } else {
        snprintf(lw.path, sizeof lw.path, "%s", path);
    }
    lw.json = json;
    rc = open_file(err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    syncq_log_set_handler(writer, NULL);
    return SYNCQ_OK;
}

int
sq_logwriter_reopen(syncq_error *err)
{
    return open_file(err);
}

void
sq_logwriter_set_proc(const char *proc)
{
    /* the child of "worker@ns" is "worker-child@ns": the namespace of a
     * worker serving several stays on every line */
    const char *at = strchr(lw.proc, '@');
    char ns[sizeof lw.proc];

    snprintf(ns, sizeof ns, "%s", at != NULL ? at : "");
    snprintf(lw.proc, sizeof lw.proc, "%s%s", proc,
             strchr(proc, '@') == NULL ? ns : "");
}

int
sq_logwriter_format_parse(const char *s)
{
    if (s == NULL || strcasecmp(s, "text") == 0 || strcasecmp(s, "logfmt") == 0) {
        return 0;
    }
    if (strcasecmp(s, "json") == 0) {
        return 1;
    }
    return -1;
}
