/* SPDX-License-Identifier: MIT
 *
 * net_guard.c: the open-socket hook of guarded transfers (net_guard.h).
 */
#include "net/net_guard.h"
#include "sq_error.h"

#include "sq_lazy_curl.h"
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syncq/log.h>

int
sq_net_guard_init(struct sq_net_guard *g, const syncq_config *cfg,
                  syncq_error *err)
{
    int rc;

    memset(g, 0, sizeof *g);
    if (cfg == NULL) {
        return SYNCQ_OK;
    }
    rc = sq_netallow_parse(syncq_config_str(cfg, "SYNCQ_FETCH_ALLOW"),
                           &g->allow, err);
    if (rc != SYNCQ_OK) {
        sq_error_prefix(err, "SYNCQ_FETCH_ALLOW");
    }
    return rc;
}

/* libcurl calls this for each connection it opens; a refused address
 * gets no socket, so libcurl tries the next address or fails the
 * transfer with CURLE_COULDNT_CONNECT. */
static curl_socket_t
open_guarded(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct sq_net_guard *g = ud;
    const char *why =
        sq_netguard_check(&a->addr, (size_t)a->addrlen, &g->allow);

    (void)purpose;
    if (why != NULL) {
        char addr[64];
        sq_netguard_format(&a->addr, (size_t)a->addrlen, addr, sizeof addr);
        snprintf(g->refused, sizeof g->refused, "%s is %s", addr, why);
        syncq_log(SYNCQ_LOG_INFO, "fetch.refused", "addr=%s range=\"%s\"",
                  addr, why);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

void
sq_net_guard_arm(struct sq_net_guard *g, CURL *c)
{
    g->refused[0] = '\0';
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, g);
}

bool
sq_net_guard_refused(const struct sq_net_guard *g, char *out, size_t cap)
{
    if (g->refused[0] == '\0') {
        return false;
    }
    snprintf(out, cap,
             "refused: %s (a fetch from task arguments; allow it with "
             "SYNCQ_FETCH_ALLOW)",
             g->refused);
    return true;
}
