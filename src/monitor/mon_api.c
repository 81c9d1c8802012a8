/* SPDX-License-Identifier: MIT
 *
 * mon_api.c: the public figure, health, metrics and alert calls of
 * syncq/monitor.h, on top of mon_figures / mon_health / mon_metrics /
 * mon_alerts.
 */
#include "monitor/mon.h"
#include "broker/broker.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"
#include "monitor/mon_alerts.h"

#include <syncq/monitor.h>
#include <string.h>

int
syncq_monitor_snapshot(syncq_client *c, json_t **out, syncq_error *err)
{
    struct sq_mon_opts o;
    struct sq_mon_data d;
    int rc;

    *out = NULL;
    sq_mon_opts_init(&o, syncq_client_config(c));
    rc = sq_mon_collect(c, &o, &d, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    *out = d.snap;
    d.snap = NULL;
    sq_mon_data_cleanup(&d);
    return SYNCQ_OK;
}

int
syncq_monitor_health(syncq_client *c, const char *why, json_t **out,
                     int *status, syncq_error *err)
{
    struct sq_mon_opts o;
    struct sq_mon_data d;
    syncq_error e;
    int rc = SYNCQ_ECONN;

    *out = NULL;
    sq_mon_opts_init(&o, c != NULL ? syncq_client_config(c) : NULL);
    memset(&d, 0, sizeof d);
    if (c != NULL) {
        rc = sq_mon_collect(c, &o, &d, &e);
        why = e.msg;
    }
    if (rc == SYNCQ_ENOMEM) {
        return sq_fail(err, rc, "%s", e.msg);
    }
    *out = sq_mon_health(rc == SYNCQ_OK ? &d : NULL, why, &o, status);
    sq_mon_data_cleanup(&d);
    if (*out == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    return SYNCQ_OK;
}

int
syncq_monitor_metrics(syncq_client *c, char **text, size_t *len,
                      syncq_error *err)
{
    struct sq_mon_opts o;
    struct sq_mon_data d;
    struct sq_buf b;
    syncq_error e;
    json_t *health, *alerts = NULL;
    int rc, st;

    *text = NULL;
    if (len != NULL) {
        *len = 0;
    }
    sq_mon_opts_init(&o, syncq_client_config(c));
    rc = sq_mon_collect(c, &o, &d, &e);
    if (rc == SYNCQ_ENOMEM) {
        return sq_fail(err, rc, "%s", e.msg);
    }
    health = sq_mon_health(rc == SYNCQ_OK ? &d : NULL, e.msg, &o, &st);
    if (rc == SYNCQ_OK) {
        json_t *a = NULL;
        if (sq_alerts_read(c, 1, &a, NULL) == SYNCQ_OK) {
            alerts = json_incref(json_object_get(a, "alerts"));
            json_decref(a);
        }
    }
    sq_buf_init(&b, (size_t)64 << 20);
    if (sq_mon_metrics_format(rc == SYNCQ_OK ? &d : NULL, health, alerts,
                              &b) != 0) {
        rc = sq_fail(err, SYNCQ_ETOOBIG, "metrics text over 64 MiB");
    } else {
        *text = sq_buf_steal(&b);
        if (*text == NULL) {
            rc = sq_fail(err, SYNCQ_ENOMEM, "out of memory");
        } else {
            if (len != NULL) {
                *len = strlen(*text);
            }
            rc = SYNCQ_OK;
        }
    }
    sq_buf_cleanup(&b);
    json_decref(health);
    json_decref(alerts);
    sq_mon_data_cleanup(&d);
    return rc;
}

int
syncq_monitor_alerts(syncq_client *c, size_t recent_max, json_t **out,
                     syncq_error *err)
{
    return sq_alerts_read(c, recent_max, out, err);
}
