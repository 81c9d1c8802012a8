/* SPDX-License-Identifier: MIT
 *
 * sq_lazy_pq.h: libpq (PostgreSQL client) loaded on first use (see sq_lazy.h).
 * Include after libpq-fe.h; call sq_lazy_pq_load() before the
 * first call. Generated list of the functions syncq uses.
 */
#ifndef SQ_LAZY_PQ_H
#define SQ_LAZY_PQ_H

#include <libpq-fe.h>
#include <syncq/error.h>

#define SQ_PQ_FUNCS(X) \
    X(PQclear) \
    X(PQcmdTuples) \
    X(PQconnectdb) \
    X(PQerrorMessage) \
    X(PQexec) \
    X(PQexecPrepared) \
    X(PQfinish) \
    X(PQfreemem) \
    X(PQgetisnull) \
    X(PQgetResult) \
    X(PQgetvalue) \
    X(PQgetlength) \
    X(PQnfields) \
    X(PQntuples) \
    X(PQprepare) \
    X(PQputCopyData) \
    X(PQputCopyEnd) \
    X(PQreset) \
    X(PQresultErrorField) \
    X(PQresultErrorMessage) \
    X(PQresultStatus) \
    X(PQsetClientEncoding) \
    X(PQsetNoticeProcessor) \
    X(PQstatus) \
    X(PQunescapeBytea)

struct sq_pq_api {
#define SQ_X(f) __typeof__(&f) f;
    SQ_PQ_FUNCS(SQ_X)
#undef SQ_X
};

/* The table (pointers are NULL until sq_lazy_pq_load succeeded). */
extern struct sq_pq_api sq_pq_fn;

/* Load the library once per process. SYNCQ_OK, or SYNCQ_ENOTSUP with a
 * message naming the missing library and its Debian package. Thread-safe;
 * later calls return the first outcome. */
int sq_lazy_pq_load(syncq_error *err);

#ifndef SQ_LAZY_IMPL
#define PQclear (*sq_pq_fn.PQclear)
#define PQcmdTuples (*sq_pq_fn.PQcmdTuples)
#define PQconnectdb (*sq_pq_fn.PQconnectdb)
#define PQerrorMessage (*sq_pq_fn.PQerrorMessage)
#define PQexec (*sq_pq_fn.PQexec)
#define PQexecPrepared (*sq_pq_fn.PQexecPrepared)
#define PQfinish (*sq_pq_fn.PQfinish)
#define PQfreemem (*sq_pq_fn.PQfreemem)
#define PQgetisnull (*sq_pq_fn.PQgetisnull)
#define PQgetResult (*sq_pq_fn.PQgetResult)
#define PQgetvalue (*sq_pq_fn.PQgetvalue)
#define PQgetlength (*sq_pq_fn.PQgetlength)
#define PQnfields (*sq_pq_fn.PQnfields)
#define PQntuples (*sq_pq_fn.PQntuples)
#define PQprepare (*sq_pq_fn.PQprepare)
#define PQputCopyData (*sq_pq_fn.PQputCopyData)
#define PQputCopyEnd (*sq_pq_fn.PQputCopyEnd)
#define PQreset (*sq_pq_fn.PQreset)
#define PQresultErrorField (*sq_pq_fn.PQresultErrorField)
#define PQresultErrorMessage (*sq_pq_fn.PQresultErrorMessage)
#define PQresultStatus (*sq_pq_fn.PQresultStatus)
#define PQsetClientEncoding (*sq_pq_fn.PQsetClientEncoding)
#define PQsetNoticeProcessor (*sq_pq_fn.PQsetNoticeProcessor)
#define PQstatus (*sq_pq_fn.PQstatus)
#define PQunescapeBytea (*sq_pq_fn.PQunescapeBytea)
#endif

#endif
