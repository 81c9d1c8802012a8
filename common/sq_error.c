/* SPDX-License-Identifier: MIT
 *
 * sq_error.c: error codes to text, and filling syncq_error.
 */
#include "sq_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *name;
    const char *text;
} codes[] = {
    {SYNCQ_OK, "OK", "success"},
    {SYNCQ_EINVAL, "EINVAL", "invalid argument"},
    {SYNCQ_ENOMEM, "ENOMEM", "out of memory"},
    {SYNCQ_ECONN, "ECONN", "connection failed"},
    {SYNCQ_EPROTO, "EPROTO", "protocol or format error"},
    {SYNCQ_ETOOBIG, "ETOOBIG", "payload too large"},
    {SYNCQ_ENOTFOUND, "ENOTFOUND", "not found"},
    {SYNCQ_EAUTH, "EAUTH", "authentication failed"},
    {SYNCQ_ETIMEDOUT, "ETIMEDOUT", "timed out"},
    {SYNCQ_ESTATE, "ESTATE", "not allowed in the current state"},
    {SYNCQ_ELEASE, "ELEASE", "stale lease token"},
    {SYNCQ_EIO, "EIO", "I/O error"},
    {SYNCQ_EEXIST, "EEXIST", "already exists"},
    {SYNCQ_EDB, "EDB", "database error"},
    {SYNCQ_EHTTP, "EHTTP", "HTTP error"},
    {SYNCQ_ENOTSUP, "ENOTSUP", "not supported"},
    {SYNCQ_EINTERNAL, "EINTERNAL", "internal error"},
};

const char *
syncq_strerror(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (codes[i].code == code) {
            return codes[i].text;
        }
    }
    return "unknown error";
}

const char *
syncq_code_name(int code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        if (codes[i].code == code) {
            return codes[i].name;
        }
    }
    return "EUNKNOWN";
}

static int
vfail(syncq_error *err, int code, int sys_errno, const char *fmt, va_list ap)
{
    if (err == NULL) {
        return code;
    }
    err->code = code;
    err->sys_errno = sys_errno;
    if (vsnprintf(err->msg, sizeof err->msg, fmt, ap) >=
        (int)sizeof err->msg) {
        /* cut: say so, at a UTF-8 character's start */
        size_t end = sizeof err->msg - 4;
        while (end > 0 && ((unsigned char)err->msg[end] & 0xC0) == 0x80) {
            end--;
        }
        memcpy(err->msg + end, "...", 4);
    }
    /* Messages are one line: fold any newline a caller passed through. */
    for (char *p = err->msg; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    return code;
}

int
sq_fail(syncq_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(err, code, 0, fmt, ap);
    va_end(ap);
    return code;
}

int
sq_fail_errno(syncq_error *err, int code, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    vfail(err, code, saved, fmt, ap);
    va_end(ap);
    return code;
}

void
sq_error_clear(syncq_error *err)
{
    if (err != NULL) {
        err->code = SYNCQ_OK;
        err->sys_errno = 0;
        err->msg[0] = '\0';
    }
}

void
sq_error_prefix(syncq_error *err, const char *prefix)
{
    char tmp[sizeof err->msg];

    if (err == NULL || prefix == NULL) {
        return;
    }
    snprintf(tmp, sizeof tmp, "%s: %s", prefix, err->msg);
    memcpy(err->msg, tmp, sizeof tmp);
}
