/* SPDX-License-Identifier: MIT
 *
 * syncq/error.h: error codes and the error struct every fallible call fills.
 *
 * Every fallible function returns int: SYNCQ_OK (0) or a negative SYNCQ_E*
 * code, and takes a `syncq_error *err` last argument that may be NULL. The
 * message sits in a fixed buffer so an out-of-memory error can still be
 * reported. Task error *classes* (network, timeout, ...) are data in the
 * task record, not return codes; see syncq/task.h.
 */
#ifndef SYNCQ_ERROR_H
#define SYNCQ_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SYNCQ_BUILDING)
#define SYNCQ_API __attribute__((visibility("default")))
#else
#define SYNCQ_API
#endif

enum syncq_code {
    SYNCQ_OK = 0,
    SYNCQ_EINVAL = -1,    /* bad argument or input (names the argument) */
    SYNCQ_ENOMEM = -2,    /* allocation failed */
    SYNCQ_ECONN = -3,     /* broker/server unreachable or connection lost */
    SYNCQ_EPROTO = -4,    /* malformed reply, record or message */
    SYNCQ_ETOOBIG = -5,   /* payload over a configured limit */
    SYNCQ_ENOTFOUND = -6, /* unknown task id, schedule, batch, file ... */
    SYNCQ_EAUTH = -7,     /* wrong password / not authorised */
    SYNCQ_ETIMEDOUT = -8, /* a wait or an I/O ran out of time */
    SYNCQ_ESTATE = -9,    /* operation not allowed in the current state */
    SYNCQ_ELEASE = -10,   /* stale lease token: fencing refused the write */
    SYNCQ_EIO = -11,      /* file or system call failed (see sys_errno) */
    SYNCQ_EEXIST = -12,   /* already exists */
    SYNCQ_EDB = -13,      /* database error (SQLite / PostgreSQL) */
    SYNCQ_EHTTP = -14,    /* HTTP transfer failed */
    SYNCQ_ENOTSUP = -15,  /* not supported by this build or server */
    SYNCQ_EINTERNAL = -16 /* a bug: an invariant of syncq itself broke */
};

/* The error a call reports. `msg` says what failed and on which input; it
 * never holds a secret (passwords in URLs are masked). */
typedef struct syncq_error {
    int code;      /* SYNCQ_OK or a negative SYNCQ_E* */
    int sys_errno; /* errno at the failure, 0 if none */
    char msg[256]; /* NUL-terminated, one line */
} syncq_error;

/* Static, human-readable name of `code` ("invalid argument", ...).
 * Never NULL; unknown codes give "unknown error". Thread-safe. */
SYNCQ_API const char *syncq_strerror(int code);

/* Short stable token of `code` ("EINVAL", "ECONN", ...) for logs and JSON.
 * Never NULL. Thread-safe. */
SYNCQ_API const char *syncq_code_name(int code);

#ifdef __cplusplus
}
#endif
#endif
