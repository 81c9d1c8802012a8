/* SPDX-License-Identifier: MIT
 *
 * fuzz_fixture_request.c: the fixture 1688 server (tools/fixture/, the
 * fake 1688 every demo and crawler test talks to) on any request bytes.
 * The real server runs in this process on a free loopback port (a small
 * catalog, no faults); each input is written raw to a new connection,
 * which is then half-closed, and the answer read to its end. Everything
 * the server parses is reached: libmicrohttpd's request line and
 * headers, then the fixture's routing, the Open Platform path
 * (namespace/api/appKey), query arguments and form bodies, offer ids,
 * image paths and tokens, shop ids. Invariants: no crash, leak or
 * overflow in the server; an answer, when there is one, is an HTTP/1.x
 * status line; and every 256 inputs the server still answers /healthz
 * within three tries of 20 s (a wedged server is a finding, not a slow
 * run).
 */
#include "fixture/fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64 * 1024)

static struct fx_server *srv;
static int port;

static void
stop_server(void)
{
    fx_server_stop(srv);
}

static void
start_server(void)
{
    struct fx_server_opts o;
    syncq_error err;

    memset(&o, 0, sizeof o);
    o.listen = "127.0.0.1:0";
    o.products = 40;
    o.categories = 3;
    o.seed = 7;
    if (fx_server_start(&o, &srv, &err) != SYNCQ_OK) {
        fprintf(stderr, "fuzz_fixture_request: %s\n", err.msg);
        abort();
    }
    port = fx_server_port(srv);
    atexit(stop_server);
}

/* Send `len` bytes on a new connection, half-close it and read the
 * answer into buf (NUL-terminated, at most cap - 1 bytes kept). Returns
 * the bytes read, or -1 when the server could not be reached. */
static long
exchange(const void *req, size_t len, char *buf, size_t cap, int wait_s)
{
    struct sockaddr_in sa;
    struct timeval tv = {wait_s, 0};
    size_t got = 0, off = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    while (off < len) {
        ssize_t n = send(fd, (const char *)req + off, len - off,
                         MSG_NOSIGNAL);
        if (n <= 0) {
            break; /* the server may close early on garbage */
        }
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) {
            break;
        }
        if (got + 1 < cap) {
            size_t k = (size_t)n < cap - 1 - got ? (size_t)n : cap - 1 - got;
            memcpy(buf + got, tmp, k);
            got += k;
        }
    }
    buf[got] = '\0';
    close(fd);
    return (long)got;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long runs;
    static char answer[8192];
    long n;

    if (srv == NULL) {
        start_server();
    }
    n = exchange(data, size < MAX_INPUT ? size : MAX_INPUT, answer,
                 sizeof answer, 5);
    if (n < 0) {
        abort(); /* the listener is gone */
    }
    if (n > 0 && strncmp(answer, "HTTP/1.", 7) != 0) {
        abort();
    }
    if (++runs % 256 == 0) {
        static const char hz[] = "GET /healthz HTTP/1.1\r\nHost: f\r\n"
                                 "Connection: close\r\n\r\n";
        int tries = 0;
        /* a loaded machine may be slow: three tries of 20 s each */
        while (exchange(hz, sizeof hz - 1, answer, sizeof answer, 20) <= 0 ||
               strncmp(answer, "HTTP/1.1 200", 12) != 0) {
            if (++tries == 3) {
                abort();
            }
        }
    }
    return 0;
}
