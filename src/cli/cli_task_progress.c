/* SPDX-License-Identifier: MIT
 *
 * cli_task_progress.c: the progress of one task while `syncq task wait`
 * waits for it, and readably at the end. On a terminal (stderr) the line
 * of `monitor progress` (bar, percent, current/total, rate, ETA, message)
 * is redrawn in place twice a second; otherwise one such line is printed
 * every 5 s, so a log of a long wait shows it moving. The record's
 * progress {current, total, message, at, rate} gets the percent and ETA
 * the monitor computes.
 */
#include "cli/cli.h"
#include "cli/cli_monitor.h"
#include "core/sq_time.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TTY_SLICE_MS 500
#define LOG_SLICE_MS 5000

static double
num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The monitor's view of a record: progress with percent and eta_s. */
static json_t *
progress_view(const json_t *t)
{
    const json_t *p = json_object_get(t, "progress");
    json_t *v = json_pack("{s:O?,s:O?,s:O?}", "id", json_object_get(t, "id"),
                          "name", json_object_get(t, "name"), "state",
                          json_object_get(t, "state"));
    double cur, tot, rate;
    json_t *pv;

    if (v == NULL || !json_is_object(p)) {
        return v;
    }
    pv = json_deep_copy(p);
    cur = num(json_object_get(p, "current"));
    tot = num(json_object_get(p, "total"));
    rate = num(json_object_get(p, "rate"));
    if (tot > 0 && cur >= 0) {
        json_object_set_new(pv, "percent", json_real(cur * 100.0 / tot));
        if (rate > 0 && cur <= tot) {
            json_object_set_new(pv, "eta_s", json_real((tot - cur) / rate));
        }
    }
    json_object_set_new(v, "progress", pv);
    return v;
}

void
cli_task_progress_print(const json_t *p)
{
    double cur = num(json_object_get(p, "current"));
    double tot = num(json_object_get(p, "total"));
    double rate = num(json_object_get(p, "rate"));
    const char *msg = json_string_value(json_object_get(p, "message"));

    if (!json_is_object(p)) {
        return;
    }
    printf("%-13s ", "progress");
    if (!isnan(cur)) {
        printf("%.0f", cur);
        if (tot > 0) {
            printf("/%.0f (%.0f%%)", tot, cur * 100.0 / tot);
        }
    }
    if (rate > 0) {
        printf(", %.1f/s", rate);
    }
    if (msg != NULL && msg[0] != '\0') {
        printf(", %s", msg);
    }
    putchar('\n');
}

int
cli_task_wait_progress(syncq_client *c, const char *id, int64_t timeout_ms,
                       json_t **out, syncq_error *err)
{
    bool tty = isatty(STDERR_FILENO) != 0;
    int64_t slice = tty ? TTY_SLICE_MS : LOG_SLICE_MS;
    int64_t deadline = timeout_ms >= 0 ? sq_mono_ms() + timeout_ms : -1;
    bool drawn = false;
    int rc;

    for (;;) {
        int64_t wait = slice;
        json_t *view;
        if (deadline >= 0 && deadline - sq_mono_ms() < wait) {
            wait = deadline - sq_mono_ms();
            wait = wait < 0 ? 0 : wait;
        }
        *out = NULL;
        rc = syncq_task_wait(c, id, wait, out, err);
        if (rc == SYNCQ_ECONN &&
            (deadline < 0 || sq_mono_ms() < deadline)) {
            /* Redis still away at the end of a slice: an outage does not
             * end the wait (the library waits through it within a slice;
             * the client logs the outage once) */
            continue;
        }
        if (rc != SYNCQ_ETIMEDOUT ||
            (deadline >= 0 && sq_mono_ms() >= deadline)) {
            break;
        }
        view = progress_view(*out);
        if (view != NULL && json_is_object(json_object_get(view, "progress"))) {
            if (tty && drawn) {
                fputs("\033[1A\r\033[K", stderr); /* redraw in place */
            }
            cli_mon_task_line(stderr, view, tty && cli_color());
            drawn = true;
        }
        json_decref(view);
        json_decref(*out);
    }
    return rc;
}
