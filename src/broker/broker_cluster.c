/* SPDX-License-Identifier: MIT
 *
 * broker_cluster.c: the slot map of a Redis Cluster and the node that
 * serves a client's namespace (broker_cluster.h). Redirects are in
 * broker_cluster_redirect.c.
 */
#include "broker/broker.h"
#include "broker/broker_cluster.h"
#include "broker/broker_io.h"
#include "sq_alloc.h"
#include "sq_error.h"
#include "core/sq_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum
 * Redis Cluster hashes keys with. Bitwise: it runs once per connect. */
static unsigned
crc16(const char *s, size_t n)
{
    unsigned crc = 0;

    for (size_t i = 0; i < n; i++) {
        crc ^= (unsigned)(unsigned char)s[i] << 8;
        for (int b = 0; b < 8; b++) {
            crc = (crc & 0x8000u) ? ((crc << 1) ^ 0x1021u) : (crc << 1);
            crc &= 0xffffu;
        }
    }
    return crc;
}

int
sq_cluster_key_slot(const char *key, size_t n)
{
    const char *open = memchr(key, '{', n);

    if (open != NULL) {
        size_t rest = n - (size_t)(open + 1 - key);
        const char *close = memchr(open + 1, '}', rest);
        if (close != NULL && close > open + 1) {
            return (int)(crc16(open + 1, (size_t)(close - open - 1)) %
                         SQ_CLUSTER_SLOTS);
        }
    }
    return (int)(crc16(key, n) % SQ_CLUSTER_SLOTS);
}

int
sq_cluster_init(syncq_client *c, syncq_error *err)
{
    struct sq_cluster *cl = sq_calloc(1, sizeof *cl);
    size_t n = strlen(c->prefix);

    if (cl == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory opening client");
    }
    /* c->prefix is "{ns}:" */
    snprintf(cl->tag, sizeof cl->tag, "%.*s", n > 3 ? (int)(n - 3) : 0,
             c->prefix + 1);
    cl->slot = sq_cluster_key_slot(c->prefix, n);
    cl->owner = -1;
    c->conn->cl = cl;
    return SYNCQ_OK;
}

void
sq_cluster_link_close(redisContext **rc, struct ssl_st **ssl)
{
    sq_tls_close(*ssl);
    *ssl = NULL;
    if (*rc != NULL) {
        redisFree(*rc);
        *rc = NULL;
    }
}

void
sq_cluster_free(struct sq_cluster *cl)
{
    if (cl == NULL) {
        return;
    }
    sq_cluster_link_close(&cl->side, &cl->side_ssl);
    sq_free(cl);
}

/* AUTH on a bare link with the URL's user and password. */
static int
link_auth(syncq_client *c, redisContext *rc, struct ssl_st *ssl,
          const char *addr, syncq_error *err)
{
    const char *argv[3] = {"AUTH", c->url.user, c->url.pass};
    redisReply *r;
    int rc2 = SYNCQ_OK;

    if (!c->url.has_pass && c->url.user[0] == '\0') {
        return SYNCQ_OK;
    }
    if (c->url.user[0] == '\0') {
        argv[1] = c->url.pass;
    }
    r = sq_link_command_argv(rc, ssl, c->url.user[0] != '\0' ? 3 : 2, argv);
    if (r == NULL) {
        return sq_fail(err, SYNCQ_ECONN, "Redis Cluster node %s: %s", addr,
                       rc->errstr);
    }
    if (r->type == REDIS_REPLY_ERROR) {
        rc2 = sq_fail(err, SYNCQ_EAUTH, "Redis Cluster node %s refused the "
                      "URL's credentials: %s", addr, r->str);
    }
    freeReplyObject(r);
    return rc2;
}

int
sq_cluster_link_open(syncq_client *c, const char *host, int port,
                     redisContext **out, struct ssl_st **ssl,
                     syncq_error *err)
{
    struct timeval tv;
    redisContext *rc;
    char addr[300];
    int rc2;

    *out = NULL;
    *ssl = NULL;
    snprintf(addr, sizeof addr, "%s:%d", host, port);
    tv.tv_sec = (time_t)(c->timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)((c->timeout_ms % 1000) * 1000);
    rc = redisConnectWithTimeout(host, port, tv);
    if (rc == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory connecting");
    }
    if (rc->err) {
        rc2 = sq_fail(err, SYNCQ_ECONN, "Redis Cluster node %s unreachable: "
                      "%s", addr, rc->errstr);
        redisFree(rc);
        return rc2;
    }
    redisSetTimeout(rc, tv);
    redisEnableKeepAlive(rc);
    if (c->conn->tls) {
        rc2 = sq_tls_handshake(c->conn, rc, host, port, ssl, err);
        if (rc2 != SYNCQ_OK) {
            redisFree(rc);
            return rc2;
        }
    }
    rc2 = link_auth(c, rc, *ssl, addr, err);
    if (rc2 != SYNCQ_OK) {
        sq_cluster_link_close(&rc, ssl);
        return rc2;
    }
    *out = rc;
    return SYNCQ_OK;
}

/* ---- the map ----------------------------------------------------------- */

/* The value after `key` in a flat key/value array (CLUSTER SHARDS). */
static const redisReply *
kv_get(const redisReply *a, const char *key)
{
    if (a == NULL || a->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }
    for (size_t i = 0; i + 1 < a->elements; i += 2) {
        const redisReply *k = a->element[i];
        if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) &&
            strcmp(k->str, key) == 0) {
            return a->element[i + 1];
        }
    }
    return NULL;
}

static long long
int_of(const redisReply *r)
{
    if (r == NULL) {
        return -1;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        return r->integer;
    }
    if (r->type == REDIS_REPLY_STRING) {
        return strtoll(r->str, NULL, 10);
    }
    return -1;
}

static const char *
str_of(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_STRING ? r->str : "";
}

/* Add (or find) a node; its index, -1 when the map is full. */
static int
add_node(struct sq_cluster *m, const char *host, int port, bool master,
         bool failed, int shard)
{
    for (int i = 0; i < m->nnodes; i++) {
        if (m->nodes[i].port == port && strcmp(m->nodes[i].host, host) == 0) {
            m->nodes[i].master |= master;
            m->nodes[i].failed = failed;
            m->nodes[i].shard = shard;
            return i;
        }
    }
    if (m->nnodes == SQ_CLUSTER_MAX_NODES || port <= 0 || host[0] == '\0') {
        return -1;
    }
    snprintf(m->nodes[m->nnodes].host, sizeof m->nodes[0].host, "%s", host);
    m->nodes[m->nnodes].port = port;
    m->nodes[m->nnodes].master = master;
    m->nodes[m->nnodes].failed = failed;
    m->nodes[m->nnodes].shard = shard;
    return m->nnodes++;
}

/* One node of CLUSTER SHARDS: its index in the map. The address is the
 * endpoint the node announces (its IP unless configured otherwise); the
 * TLS port for TLS links. */
static int
shard_node(struct sq_cluster *m, const redisReply *n, bool tls,
           const char *asked, int shard)
{
    const char *host = str_of(kv_get(n, "endpoint"));
    long long port = int_of(kv_get(n, tls ? "tls-port" : "port"));
    const char *health = str_of(kv_get(n, "health"));

    if (host[0] == '\0' || strcmp(host, "?") == 0) {
        host = str_of(kv_get(n, "ip"));
    }
    if (host[0] == '\0') {
        host = asked;
    }
    return add_node(m, host, (int)port,
                    strcmp(str_of(kv_get(n, "role")), "master") == 0,
                    strcmp(health, "online") != 0, shard);
}

static void
parse_shards(struct sq_cluster *m, const redisReply *r, bool tls,
             const char *asked)
{
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *sh = r->element[i];
        const redisReply *slots = kv_get(sh, "slots");
        const redisReply *nodes = kv_get(sh, "nodes");
        int master = -1;
        bool ours = false;
        if (nodes == NULL || nodes->type != REDIS_REPLY_ARRAY) {
            continue;
        }
        for (size_t j = 0; j < nodes->elements; j++) {
            int at = shard_node(m, nodes->element[j], tls, asked, (int)i);
            /* right after a promotion the dead master may still be
             * listed as a master of the shard: the live one wins */
            if (at >= 0 && m->nodes[at].master &&
                (master < 0 || m->nodes[master].failed)) {
                master = at;
            }
        }
        for (size_t j = 0; slots != NULL && slots->type == REDIS_REPLY_ARRAY &&
                           j + 1 < slots->elements;
             j += 2) {
            long long a = int_of(slots->element[j]);
            long long b = int_of(slots->element[j + 1]);
            ours |= a <= m->slot && m->slot <= b;
        }
        if (master >= 0 && slots != NULL && slots->elements > 0) {
            m->masters++;
            if (ours) {
                m->owner = master;
            }
        }
    }
}

/* CLUSTER SLOTS: [start, end, [ip, port, id, ...], replicas...]. An empty
 * ip means "the node you asked". */
static void
parse_slots(struct sq_cluster *m, const redisReply *r, const char *asked)
{
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        int master = -1;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3) {
            continue;
        }
        for (size_t j = 2; j < e->elements; j++) {
            const redisReply *n = e->element[j];
            const char *ip;
            int at;
            if (n->type != REDIS_REPLY_ARRAY || n->elements < 2) {
                continue;
            }
            ip = str_of(n->element[0]);
            /* a range's master and replicas form its shard (a master
             * of several ranges and its replicas are listed in each) */
            at = add_node(m, ip[0] != '\0' ? ip : asked,
                          (int)int_of(n->element[1]), j == 2, false, (int)i);
            if (j == 2) {
                master = at;
            }
        }
        if (master >= 0) {
            if (int_of(e->element[0]) <= m->slot &&
                m->slot <= int_of(e->element[1])) {
                m->owner = master;
            }
        }
    }
    /* a master serving several ranges is listed once per range */
    for (int i = 0; i < m->nnodes; i++) {
        m->masters += m->nodes[i].master;
    }
}

/* Ask one node for the map, into m (emptied first). */
static int
ask_node(syncq_client *c, const char *host, int port, struct sq_cluster *m,
         syncq_error *err)
{
    redisContext *rc = NULL;
    struct ssl_st *ssl = NULL;
    const char *shards[2] = {"CLUSTER", "SHARDS"};
    const char *slots[2] = {"CLUSTER", "SLOTS"};
    redisReply *r;
    char addr[300];
    int rc2 = sq_cluster_link_open(c, host, port, &rc, &ssl, err);

    if (rc2 != SYNCQ_OK) {
        return rc2;
    }
    snprintf(addr, sizeof addr, "%s:%d", host, port);
    m->nnodes = 0;
    m->masters = 0;
    m->owner = -1;
    r = sq_link_command_argv(rc, ssl, 2, shards);
    if (r != NULL && r->type == REDIS_REPLY_ERROR &&
        strstr(r->str, "nknown subcommand") != NULL) {
        freeReplyObject(r); /* before Redis 7.0 */
        r = sq_link_command_argv(rc, ssl, 2, slots);
        if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
            parse_slots(m, r, host);
        }
    } else if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
        parse_shards(m, r, c->conn->tls, host);
    }
    if (r == NULL) {
        rc2 = sq_fail(err, SYNCQ_ECONN, "Redis Cluster node %s: %s", addr,
                      rc->errstr);
    } else if (r->type == REDIS_REPLY_ERROR) {
        bool off = strstr(r->str, "cluster support disabled") != NULL;
        rc2 = sq_fail(err, off ? SYNCQ_EINVAL
                      : sq_fault_classify(r->str) == SQ_FAULT_AUTH
                          ? SYNCQ_EAUTH
                          : SYNCQ_ECONN,
                      off ? "%s is not a Redis Cluster node (cluster support "
                            "disabled): use redis:// for a single Redis"
                          : "Redis Cluster node %s: CLUSTER SHARDS: %s",
                      addr, r->str);
    } else if (r->type != REDIS_REPLY_ARRAY) {
        rc2 = sq_fail(err, SYNCQ_ECONN, "Redis Cluster node %s: unexpected "
                      "CLUSTER SHARDS reply", addr);
    } else {
        snprintf(m->map_from, sizeof m->map_from, "%s", addr);
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    sq_cluster_link_close(&rc, &ssl);
    return rc2;
}

/* Nodes to ask, best first: known healthy nodes other than the master we
 * used last, then the seeds, then that master (it may be the one that
 * died). */
static int
candidates(const syncq_client *c, struct sq_cluster_node *out, int cap)
{
    const struct sq_cluster *cl = c->conn->cl;
    const struct sq_conn *k = c->conn;
    int n = 0;

    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < cl->nnodes && n < cap; i++) {
            const struct sq_cluster_node *x = &cl->nodes[i];
            bool last = x->port == k->port && strcmp(x->host, k->host) == 0;
            if ((pass == 0 && !x->failed && !last) ||
                (pass == 2 && (x->failed || last))) {
                out[n++] = *x;
            }
        }
        for (int i = 0; pass == 1 && i < c->url.nhosts && n < cap; i++) {
            snprintf(out[n].host, sizeof out[n].host, "%s",
                     c->url.hosts[i].host);
            out[n++].port = c->url.hosts[i].port;
        }
    }
    return n;
}

/* Fetch a fresh map into c->conn->cl from the first node that answers. */
static int
refresh(syncq_client *c, syncq_error *err)
{
    struct sq_cluster *cl = c->conn->cl;
    struct sq_cluster_node *cand = NULL;
    struct sq_cluster *m = NULL;
    int n, rc = SYNCQ_ECONN;
    char last[200] = "";

    cand = sq_calloc(SQ_CLUSTER_MAX_NODES + SQ_URL_MAX_HOSTS, sizeof *cand);
    m = sq_calloc(1, sizeof *m);
    if (cand == NULL || m == NULL) {
        sq_free(cand);
        sq_free(m);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    n = candidates(c, cand, SQ_CLUSTER_MAX_NODES + SQ_URL_MAX_HOSTS);
    m->slot = cl->slot;
    for (int i = 0; i < n; i++) {
        rc = ask_node(c, cand[i].host, cand[i].port, m, err);
        if (rc == SYNCQ_OK) {
            memcpy(cl->nodes, m->nodes, sizeof cl->nodes);
            cl->nnodes = m->nnodes;
            cl->masters = m->masters;
            cl->owner = m->owner;
            memcpy(cl->map_from, m->map_from, sizeof cl->map_from);
            cl->refreshes++;
            break;
        }
        if (rc == SYNCQ_EAUTH || rc == SYNCQ_EINVAL || rc == SYNCQ_ENOMEM) {
            break; /* configuration: another node says the same */
        }
        snprintf(last, sizeof last, "%s", err != NULL ? err->msg : "");
    }
    if (rc == SYNCQ_ECONN && err != NULL) {
        snprintf(err->msg, sizeof err->msg,
                 "Redis Cluster down: none of %d node(s) tried answered "
                 "(last: %s)", n, last);
    }
    sq_free(cand);
    sq_free(m);
    return rc;
}

/* Whether host:port (the master used last) is a healthy master of
 * another shard than the slot's owner in the map: the slot was then moved
 * (a reshard seen on a reconnect), not taken over by its replica (a
 * failover). The shard decides, not the health alone: right after a
 * promotion the node asked may not yet have marked the dead master as
 * failed, and still lists it as an online master of the same shard. */
static bool
still_master(const struct sq_cluster *cl, const char *host, int port)
{
    for (int i = 0; host[0] != '\0' && i < cl->nnodes; i++) {
        const struct sq_cluster_node *n = &cl->nodes[i];
        if (n->port == port && strcmp(n->host, host) == 0) {
            return n->master && !n->failed &&
                   (cl->owner < 0 || n->shard != cl->nodes[cl->owner].shard);
        }
    }
    return false;
}

/* The nodes of host:port's shard in the map, itself excepted (a
 * master's replicas): into out, their count. */
static int
shard_mates(const struct sq_cluster *cl, const char *host, int port,
            struct sq_cluster_node *out, int cap)
{
    int at = -1, n = 0;

    for (int i = 0; host[0] != '\0' && i < cl->nnodes && at < 0; i++) {
        if (cl->nodes[i].port == port && strcmp(cl->nodes[i].host, host) == 0) {
            at = i;
        }
    }
    for (int i = 0; at >= 0 && i < cl->nnodes && n < cap; i++) {
        if (i != at && cl->nodes[i].shard == cl->nodes[at].shard) {
            out[n++] = cl->nodes[i];
        }
    }
    return n;
}

/* Whether node o is one of the n nodes of `in`. */
static bool
listed(const struct sq_cluster_node *in, int n, const struct sq_cluster_node *o)
{
    for (int i = 0; i < n; i++) {
        if (in[i].port == o->port && strcmp(in[i].host, o->host) == 0) {
            return true;
        }
    }
    return false;
}

int
sq_cluster_locate(syncq_client *c, char *host, size_t cap, int *port,
                  bool *moved, syncq_error *err)
{
    struct sq_cluster *cl = c->conn->cl;
    const struct sq_cluster_node *o;
    struct sq_cluster_node *mates;
    int nmates, rc;

    *moved = false;
    /* a new main connection: redirects go through it again, and a
     * pending switch is what this connect does */
    sq_cluster_link_close(&cl->side, &cl->side_ssl);
    cl->switch_pending = false;
    if (cl->hint_port > 0) {
        snprintf(host, cap, "%s", cl->hint_host);
        *port = cl->hint_port;
        cl->hint_port = 0;
        *moved = true;
        return SYNCQ_OK;
    }
    /* the replicas of the master used last, from the map before this
     * refresh: a slot now served by one of them was failed over to it,
     * whatever the node asked says of the old master. Right after a
     * promotion Redis 7.0's CLUSTER SHARDS may list the dead master,
     * not yet marked failed, as a master of a shard of its own, which
     * looks like a slot moved to another shard. */
    mates = sq_calloc(SQ_CLUSTER_MAX_NODES, sizeof *mates);
    if (mates == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory");
    }
    nmates = shard_mates(cl, c->conn->host, c->conn->port, mates,
                         SQ_CLUSTER_MAX_NODES);
    rc = refresh(c, err);
    if (rc != SYNCQ_OK) {
        sq_free(mates);
        return rc;
    }
    if (cl->owner < 0) {
        sq_free(mates);
        return sq_fail(err, SYNCQ_ECONN, "Redis Cluster: no master serves "
                       "slot %d (namespace '%s') in the map of %s: the "
                       "cluster is down or the slot is not assigned",
                       cl->slot, cl->tag, cl->map_from);
    }
    o = &cl->nodes[cl->owner];
    if (o->failed) {
        sq_free(mates);
        return sq_fail(err, SYNCQ_ECONN, "Redis Cluster: master %s:%d of "
                       "slot %d (namespace '%s') is down; waiting for a "
                       "replica's promotion", o->host, o->port, cl->slot,
                       cl->tag);
    }
    snprintf(host, cap, "%s", o->host);
    *port = o->port;
    *moved = !listed(mates, nmates, o) &&
             still_master(cl, c->conn->host, c->conn->port);
    sq_free(mates);
    return SYNCQ_OK;
}

bool
sq_cluster_take_switch(syncq_client *c)
{
    struct sq_cluster *cl = c->conn != NULL ? c->conn->cl : NULL;

    if (cl == NULL || !cl->switch_pending) {
        return false;
    }
    cl->switch_pending = false;
    return true;
}

void
sq_cluster_mark_meta(syncq_client *c)
{
    redisReply *r;

    if (c->conn == NULL || c->conn->cl == NULL) {
        return;
    }
    r = sq_conn_command(c, "SET %s syncq NX", c->meta_key);
    if (r != NULL) {
        freeReplyObject(r); /* NOPERM (a read-only role): left as it is */
    }
}

json_t *
sq_cluster_topology(const syncq_client *c)
{
    const struct sq_cluster *cl = c->conn->cl;
    char node[300];

    snprintf(node, sizeof node, "%s:%d", c->conn->host, c->conn->port);
    return json_pack("{s:i,s:s,s:s,s:i,s:i,s:I,s:I,s:I,s:I}", "slot",
                     cl->slot, "namespace", cl->tag, "node", node, "masters",
                     cl->masters, "nodes", cl->nnodes, "moved",
                     (json_int_t)cl->moved, "asked", (json_int_t)cl->asked,
                     "slot_moves", (json_int_t)cl->slot_moves,
                     "map_refreshes", (json_int_t)cl->refreshes);
}
