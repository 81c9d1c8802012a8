/* SPDX-License-Identifier: MIT
 *
 * it_broker_util.h: what the broker script tests share: one client per
 * test (setup/teardown flush Redis), creating a task, one lease call and
 * one settle op through the C wrappers. Functions are static inline: each
 * test file uses some of them.
 */
#ifndef IT_BROKER_UTIL_H
#define IT_BROKER_UTIL_H

#include "sq_test.h"

#include "broker/broker.h"

static syncq_client *cl;

static inline int
setup(void **state)
{
    (void)state;
    sqt_flush();
    cl = sqt_client();
    return 0;
}

static inline int
teardown(void **state)
{
    (void)state;
    syncq_client_close(cl);
    return 0;
}

static inline void
create(const char *name, int pri, const char *queue, char id[SYNCQ_ID_SIZE])
{
    syncq_task_options o;
    syncq_error err;

    syncq_task_options_init(&o);
    o.priority = pri;
    o.queue = queue;
    if (syncq_task_create(cl, name, NULL, NULL, &o, id, NULL, &err) !=
        SYNCQ_OK) {
        fail_msg("create: %s", err.msg);
    }
}

static inline void
lease(const char *const *queues, size_t nq, int n, int64_t lease_ms,
      struct sq_lease_reply *out)
{
    struct sq_lease_req req = {"w1:1", lease_ms, n, n, queues, nq};
    syncq_error err;

    if (sq_broker_settle_lease(cl, NULL, 0, NULL, &req, out, &err) !=
        SYNCQ_OK) {
        fail_msg("lease: %s", err.msg);
    }
}

static inline int
settle1(const struct sq_settle_op *op)
{
    int st = -1;
    syncq_error err;

    if (sq_broker_settle_lease(cl, op, 1, &st, NULL, NULL, &err) !=
        SYNCQ_OK) {
        fail_msg("settle: %s", err.msg);
    }
    return st;
}

#endif
