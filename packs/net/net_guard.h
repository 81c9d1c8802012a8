/* SPDX-License-Identifier: MIT
 *
 * net_guard.h: the guard of fetches whose URL came from task arguments
 * (image downloads; crawler tasks given base_url, page_url or shop_url),
 * on a libcurl easy handle. The check runs in libcurl's open-socket hook,
 * on the very address libcurl is about to connect to: after name
 * resolution (so DNS tricks and rebinding gain nothing), for every
 * connection of the transfer (so every redirect hop is judged), and for
 * every address tried (IPv4 and IPv6). The rules are sq_netguard.h's,
 * with the allow-list of SYNCQ_FETCH_ALLOW. One implementation for the
 * crawler (crawler_http.c) and the images (img_fetch.c).
 *
 * A handle that ever ran unguarded transfers must not be armed: its
 * cached connections were never judged (crawler_http.c keeps a second
 * handle for guarded transfers).
 *
 * With a proxy (http_proxy, https_proxy), libcurl connects to the proxy:
 * the guard then judges the proxy's address, not the target's.
 *
 * Thread-safety: one struct sq_net_guard per handle.
 */
#ifndef SQ_NET_GUARD_H
#define SQ_NET_GUARD_H

#include "sq_netguard.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <syncq/config.h>
#include <syncq/error.h>

struct sq_net_guard {
    struct sq_netallow allow;
    char refused[200]; /* why the last transfer was refused; "" if not */
};

/* Read SYNCQ_FETCH_ALLOW from `cfg` (NULL: nothing allowed). Errors:
 * SYNCQ_EINVAL (bad allow-list; message names the setting). */
int sq_net_guard_init(struct sq_net_guard *g, const syncq_config *cfg,
                      syncq_error *err);

/* Judge every connection of the next transfers on `c` (the guard must
 * outlive them); clears g->refused. */
void sq_net_guard_arm(struct sq_net_guard *g, CURL *c);

/* After a failed transfer: true (and the reason in `out`, "refused:
 * 169.254.169.254:80 is link-local; allow it with SYNCQ_FETCH_ALLOW")
 * when the guard refused a connection. */
bool sq_net_guard_refused(const struct sq_net_guard *g, char *out,
                          size_t cap);

#endif
