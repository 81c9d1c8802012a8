/* SPDX-License-Identifier: MIT
 *
 * sq_netguard.h: which network addresses a fetch whose URL came from task
 * arguments may connect to (a guard against server-side request forgery:
 * a task must not make a worker read http://169.254.169.254/ or an
 * internal service). Addresses that are loopback, link-local (with the
 * cloud metadata address), private (RFC 1918, RFC 6598 shared, fc00::/7,
 * site-local), multicast, broadcast, reserved or unspecified are
 * refused, IPv6 forms embedding an IPv4 address (mapped, compatible,
 * NAT64, 6to4) as the IPv4 address they carry, unless an allow-list
 * (SYNCQ_FETCH_ALLOW) names them.
 *
 * Pure functions, no I/O: the packs call them from libcurl's open-socket
 * hook (packs/net/net_guard.h), the settings loader to check the
 * allow-list when it is read. Thread-safe.
 */
#ifndef SQ_NETGUARD_H
#define SQ_NETGUARD_H

#include <stddef.h>
#include <sys/socket.h>
#include <syncq/error.h>

#define SQ_NETALLOW_MAX 32 /* entries in one allow-list */

/* One allowed range: an address with a prefix length, and a port (0:
 * any). IPv4 entries are stored as IPv4 (family AF_INET). */
struct sq_netallow_entry {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];  /* network order; 4 bytes used for IPv4 */
    int prefix;              /* 0..32 or 0..128 */
    int port;                /* 1..65535, or 0 for any port */
};

struct sq_netallow {
    size_t n;
    struct sq_netallow_entry e[SQ_NETALLOW_MAX];
};

/* Parse a comma-separated allow-list; spaces around entries are
 * ignored, "" is an empty list. Entries: an address ("127.0.0.1",
 * "::1"), a range ("10.0.0.0/8", "fd00::/8") or an address with a port
 * ("127.0.0.1:8080", "[::1]:8080"). Host names are refused (the guard
 * judges the address a name resolves to, so a name would prove
 * nothing). Errors: SYNCQ_EINVAL naming the entry and the accepted
 * forms (more than SQ_NETALLOW_MAX entries too); *out is empty then. */
int sq_netallow_parse(const char *text, struct sq_netallow *out,
                      syncq_error *err);

/* NULL when a connection to `sa` (`len` bytes, AF_INET or AF_INET6) is
 * allowed; otherwise the static name of the range that refuses it
 * ("loopback", "link-local", "private", "multicast", "unspecified",
 * "broadcast", "reserved", "shared (carrier-grade NAT)", "not an IP
 * address"). `allow` may be NULL (nothing allowed beyond public
 * addresses). */
const char *sq_netguard_check(const struct sockaddr *sa, size_t len,
                              const struct sq_netallow *allow);

/* "1.2.3.4:80" or "[::1]:80" of `sa` into `out` ("?" when not IP). */
void sq_netguard_format(const struct sockaddr *sa, size_t len, char *out,
                        size_t cap);

#endif
