/* SPDX-License-Identifier: MIT
 *
 * worker_proc.c: resident memory and CPU time of worker processes from
 * /proc (Linux). Read for heartbeats and memory recycling; the parsers
 * take text so they can be tested and fuzzed without /proc. A missing
 * or odd file yields -1, never a crash.
 */
#include "worker/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read a small /proc file into buf (NUL-terminated); bytes or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return -1;
    }
    do {
        n = read(fd, buf, cap - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0) {
        return -1;
    }
    buf[n] = '\0';
    return n;
}

long
sq_proc_parse_statm(const char *text, size_t len)
{
    char buf[128];
    char *p, *end;
    long size, rss;

    if (len == 0 || len >= sizeof buf) {
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    errno = 0;
    size = strtol(buf, &end, 10);
    if (end == buf || errno != 0 || size < 0 || *end != ' ') {
        return -1;
    }
    p = end + 1;
    rss = strtol(p, &end, 10);
    if (end == p || errno != 0 || rss < 0) {
        return -1;
    }
    return rss;
}

long long
sq_proc_parse_stat(const char *text, size_t len)
{
    /* "pid (comm) state ppid ..." : comm may hold spaces and ')', so the
     * fields start after the last ')'. utime and stime are fields 14 and
     * 15 of the line, the 12th and 13th tokens after the comm. */
    size_t i, rp = len;
    unsigned long long v[2] = {0, 0};
    int tok = 0;

    for (i = 0; i < len; i++) {
        if (text[i] == ')') {
            rp = i;
        }
    }
    if (rp == len) {
        return -1;
    }
    i = rp + 1;
    while (tok < 13) {
        size_t start;
        while (i < len && text[i] == ' ') {
            i++;
        }
        if (i >= len || text[i] == '\n') {
            return -1;
        }
        start = i;
        while (i < len && text[i] != ' ' && text[i] != '\n') {
            i++;
        }
        if (tok >= 11) {
            unsigned long long x = 0;
            for (size_t j = start; j < i; j++) {
                if (text[j] < '0' || text[j] > '9' ||
                    x > (~0ULL >> 4) / 10) {
                    return -1;
                }
                x = x * 10 + (unsigned long long)(text[j] - '0');
            }
            v[tok - 11] = x;
        }
        tok++;
    }
    return (long long)(v[0] + v[1]);
}

long
sq_proc_rss_kb(int pid)
{
    char path[64];
    char buf[128];
    ssize_t n;
    long pages;
    long page_kb = sysconf(_SC_PAGESIZE) / 1024;

    if (pid <= 0) {
        snprintf(path, sizeof path, "/proc/self/statm");
    } else {
        snprintf(path, sizeof path, "/proc/%d/statm", pid);
    }
    n = read_small(path, buf, sizeof buf);
    if (n <= 0) {
        return -1;
    }
    pages = sq_proc_parse_statm(buf, (size_t)n);
    return pages < 0 ? -1 : pages * (page_kb > 0 ? page_kb : 4);
}

long long
sq_proc_cpu_ticks(int pid)
{
    char path[64];
    char buf[1024];
    ssize_t n;

    if (pid <= 0) {
        snprintf(path, sizeof path, "/proc/self/stat");
    } else {
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
    }
    n = read_small(path, buf, sizeof buf);
    if (n <= 0) {
        return -1;
    }
    return sq_proc_parse_stat(buf, (size_t)n);
}
