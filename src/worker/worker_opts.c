/* SPDX-License-Identifier: MIT
 *
 * worker_opts.c: resolve the worker's settings from the configuration
 * table (flags were applied to it by the CLI) and load task plugins.
 * Bad values are errors naming the setting; nothing is clamped.
 */
#include "worker/worker.h"
#include "broker/broker_control.h"
#include "core/sq_config.h"
#include "sq_error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Split SYNCQ_WORKER_QUEUES into o->queues, checking every name. */
static int
parse_queues(struct sq_worker_opts *o, const char *csv, syncq_error *err)
{
    const char *p = csv;

    o->nqueues = 0;
    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        char q[101];
        /* tolerate spaces around names ("crawler, default") */
        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
            n--;
        }
        if (n == 0 || n >= sizeof q) {
            return sq_fail(err, SYNCQ_EINVAL,
                           "SYNCQ_WORKER_QUEUES: empty or over-long queue "
                           "name in '%.200s'", csv);
        }
        memcpy(q, p, n);
        q[n] = '\0';
        if (syncq_queue_name_check(q, err) != SYNCQ_OK) {
            sq_error_prefix(err, "SYNCQ_WORKER_QUEUES");
            return SYNCQ_EINVAL;
        }
        for (size_t i = 0; i < o->nqueues; i++) {
            if (strcmp(o->queues[i], q) == 0) {
                return sq_fail(err, SYNCQ_EINVAL, "SYNCQ_WORKER_QUEUES: "
                               "queue '%s' listed twice", q);
            }
        }
        if (o->nqueues == SQ_WORKER_MAX_QUEUES) {
            return sq_fail(err, SYNCQ_EINVAL, "SYNCQ_WORKER_QUEUES: more "
                           "than %d queues", SQ_WORKER_MAX_QUEUES);
        }
        snprintf(o->queues[o->nqueues++], sizeof o->queues[0], "%s", q);
        p = end != NULL ? end + 1 : NULL;
    }
    if (o->nqueues == 0) {
        return sq_fail(err, SYNCQ_EINVAL, "SYNCQ_WORKER_QUEUES: no queue "
                       "to serve");
    }
    return SYNCQ_OK;
}


/* SYNCQ_WORKER_QUEUES unset or empty: serve "default" and every queue the
 * registered tasks and pack routes name, so the library itself names no
 * pack's queue. Otherwise it is parsed and checked as given. */
static int
default_queues(struct sq_worker_opts *o, const syncq_config *cfg,
               const syncq_registry *r, syncq_error *err)
{
    const char *q[SQ_WORKER_MAX_QUEUES];
    size_t n;

    o->nqueues = 0;
    if (syncq_config_str(cfg, "SYNCQ_WORKER_QUEUES")[0] != '\0') {
        return SYNCQ_OK;
    }
    n = syncq_registry_queues(r != NULL ? r : syncq_registry_default(), q,
                              SQ_WORKER_MAX_QUEUES);
    if (n > SQ_WORKER_MAX_QUEUES) {
        return sq_fail(err, SYNCQ_EINVAL, "the registered tasks route to "
                       "%zu queues, over %d: give SYNCQ_WORKER_QUEUES (-Q)",
                       n, SQ_WORKER_MAX_QUEUES);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(o->queues[o->nqueues++], sizeof o->queues[0], "%s", q[i]);
    }
    return SYNCQ_OK;
}

/* The status file is written atomically (temp + rename) beside itself:
 * its directory must exist and be writable now, or `worker health` would
 * report a running worker as absent (refused at start, as --logfile). */
static int
status_dir_check(const char *path, syncq_error *err)
{
    char dir[sizeof ((struct sq_worker_opts *)0)->status_file];
    char *slash;

    if (path[0] == '\0') {
        return SYNCQ_OK;
    }
    snprintf(dir, sizeof dir, "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    if (access(dir, W_OK | X_OK) != 0) {
        return sq_fail(err, SYNCQ_EINVAL,
                       "SYNCQ_WORKER_STATUS_FILE %s: directory %s: %s", path,
                       dir, strerror(errno));
    }
    return SYNCQ_OK;
}

int
sq_worker_opts_init(struct sq_worker_opts *o, const syncq_config *cfg,
                    syncq_registry *r, syncq_error *err)
{
    const char *name;
    int rc;

    memset(o, 0, sizeof *o);
    o->cfg = cfg;
    o->registry = r;
    rc = default_queues(o, cfg, r, err);
    if (rc == SYNCQ_OK && o->nqueues == 0) {
        rc = parse_queues(o, syncq_config_str(cfg, "SYNCQ_WORKER_QUEUES"),
                          err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_worker_celery_queues(o, err); /* --celery: worker_celery.c */
    }
    if (rc != SYNCQ_OK) {
        return rc;
    }
    o->concurrency = (int)syncq_config_int(cfg, "SYNCQ_WORKER_CONCURRENCY");
    o->prefetch = (int)syncq_config_int(cfg, "SYNCQ_WORKER_PREFETCH");
    o->max_tasks_per_child =
        syncq_config_int(cfg, "SYNCQ_WORKER_MAX_TASKS_PER_CHILD");
    o->max_memory_kb =
        syncq_config_int(cfg, "SYNCQ_WORKER_MAX_MEMORY_PER_CHILD");
    o->time_limit_ms = syncq_config_ms(cfg, "SYNCQ_TASK_TIME_LIMIT");
    o->soft_time_limit_ms = syncq_config_ms(cfg, "SYNCQ_TASK_SOFT_TIME_LIMIT");
    o->heartbeat_ms = syncq_config_ms(cfg, "SYNCQ_HEARTBEAT_INTERVAL");
    o->lease_ms = syncq_config_ms(cfg, "SYNCQ_LEASE_TIMEOUT");
    o->cancel_grace_ms = syncq_config_ms(cfg, "SYNCQ_CANCEL_GRACE");
    o->shutdown_grace_ms = syncq_config_ms(cfg, "SYNCQ_SHUTDOWN_GRACE");
    o->max_payload = syncq_config_int(cfg, "SYNCQ_MAX_PAYLOAD");
    if (o->concurrency < 1 || o->prefetch < 1) {
        return sq_fail(err, SYNCQ_EINVAL, "concurrency and prefetch must be "
                       ">= 1");
    }
    /* flags (--time-limit ...) were applied after the load's check */
    rc = sq_config_check(cfg, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    if (gethostname(o->hostname, sizeof o->hostname) != 0 ||
        o->hostname[0] == '\0') {
        snprintf(o->hostname, sizeof o->hostname, "localhost");
    }
    o->hostname[sizeof o->hostname - 1] = '\0';
    name = syncq_config_str(cfg, "SYNCQ_WORKER_HOSTNAME");
    if (name == NULL || name[0] == '\0') {
        name = "%h-%i"; /* stable across restarts (worker_control.c) */
    }
    if (strlen(name) > 200 ||
        sq_ctl_name_expand(name, o->hostname, 1, o->worker_id, 201, err) !=
            SYNCQ_OK) {
        if (strlen(name) > 200) {
            sq_fail(err, SYNCQ_EINVAL, "over 200 characters");
        }
        sq_error_prefix(err, "SYNCQ_WORKER_HOSTNAME");
        return SYNCQ_EINVAL;
    }
    snprintf(o->name_pattern, sizeof o->name_pattern, "%s", name);
    snprintf(o->status_file, sizeof o->status_file, "%s",
             syncq_config_str(cfg, "SYNCQ_WORKER_STATUS_FILE"));
    return status_dir_check(o->status_file, err);
}

int
sq_worker_load_plugins(syncq_registry *r, const char *csv,
                       const char *const *paths, size_t n, syncq_error *err)
{
    const char *p = csv;
    int rc;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char path[4096];
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        if (len >= sizeof path) {
            return sq_fail(err, SYNCQ_EINVAL, "SYNCQ_PLUGINS: path over %zu "
                           "bytes", sizeof path - 1);
        }
        if (len > 0) {
            memcpy(path, p, len);
            path[len] = '\0';
            rc = syncq_registry_load_plugin(r, path, err);
            if (rc != SYNCQ_OK) {
                return rc;
            }
        }
        p = end != NULL ? end + 1 : NULL;
    }
    for (size_t i = 0; i < n; i++) {
        rc = syncq_registry_load_plugin(r, paths[i], err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    return SYNCQ_OK;
}
