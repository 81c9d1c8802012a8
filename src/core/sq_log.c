/* SPDX-License-Identifier: MIT
 *
 * sq_log.c: level filter and handler dispatch for library log events.
 */
#include "core/sq_log.h"
#include "sq_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int sq_log_level = SYNCQ_LOG_INFO;
static syncq_log_fn handler;
static void *handler_ud;

void
syncq_log_set_handler(syncq_log_fn fn, void *userdata)
{
    handler = fn;
    handler_ud = userdata;
}

void
syncq_log_set_level(int level)
{
    if (level < SYNCQ_LOG_ERROR) {
        level = SYNCQ_LOG_ERROR;
    }
    if (level > SYNCQ_LOG_DEBUG) {
        level = SYNCQ_LOG_DEBUG;
    }
    sq_log_level = level;
}

int
syncq_log_level_parse(const char *name)
{
    if (name == NULL) {
        return -1;
    }
    if (strcasecmp(name, "debug") == 0) {
        return SYNCQ_LOG_DEBUG;
    }
    if (strcasecmp(name, "info") == 0) {
        return SYNCQ_LOG_INFO;
    }
    if (strcasecmp(name, "warning") == 0 || strcasecmp(name, "warn") == 0) {
        return SYNCQ_LOG_WARN;
    }
    if (strcasecmp(name, "error") == 0) {
        return SYNCQ_LOG_ERROR;
    }
    return -1;
}

int
sq_log_enabled(int level)
{
    return handler != NULL && level <= sq_log_level;
}

void
sq_log_emit(int level, const char *event, const char *fmt, ...)
{
    char kv[2048];
    va_list ap;

    if (handler == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(kv, sizeof kv, fmt, ap);
    va_end(ap);
    handler(handler_ud, level, event, kv);
}

void
syncq_log(int level, const char *event, const char *fmt, ...)
{
    char kv[2048] = "";
    va_list ap;

    if (!sq_log_enabled(level) || event == NULL) {
        return;
    }
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(kv, sizeof kv, fmt, ap);
        va_end(ap);
    }
    handler(handler_ud, level, event, kv);
}

const char *
syncq_log_quote(const char *s, char *out, size_t cap)
{
    return sq_log_quote(s, out, cap);
}

const char *
sq_log_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    int needs = 0;
    char clean[1024];

    if (cap == 0) {
        return out;
    }
    if (s == NULL) {
        s = "";
    }
    sq_utf8_sanitize(s, strlen(s), clean, sizeof clean);
    s = clean;
    if (*s == '\0') {
        needs = 1;
    }
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\') {
            needs = 1;
            break;
        }
    }
    if (!needs) {
        snprintf(out, cap, "%s", s);
        return out;
    }
    if (o + 1 < cap) {
        out[o++] = '"';
    }
    for (const char *p = s; *p != '\0' && o + 3 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < ' ') {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    if (o + 1 < cap) {
        out[o++] = '"';
    }
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}
