/* SPDX-License-Identifier: MIT
 *
 * broker_cluster.h: Redis Cluster under a syncq_client, for the
 * redis+cluster:// and rediss+cluster:// URLs (sq_url.h).
 *
 * Every key of a namespace carries the hash tag "{<namespace>}", so all of
 * a client's keys live in one slot and one node serves them: the client's
 * one connection goes to the master that owns that slot. The slot map
 * comes from CLUSTER SHARDS (CLUSTER SLOTS on servers before 7.0), asked
 * of any reachable node (known nodes first, then the URL's seeds), and is
 * asked again on every (re)connect: after a lost connection (a failover),
 * after a MOVED that named our own slot, after a transient cluster error.
 *
 * Redirects are followed in the connection layer, for every reply of
 * every caller, pipelined or not (broker_io.c keeps a copy of each
 * command in flight in cluster mode):
 *   - MOVED <slot> <addr>: the command did not run; it is sent to <addr>
 *     on a side connection and its reply handed back as if it came from
 *     the first node. When <slot> is ours, the next call of the client
 *     reconnects its main connection to <addr> (the slot moved: a reshard
 *     or a failover);
 *   - ASK <slot> <addr>: the slot is being migrated and the key is
 *     already on <addr>: ASKING + the command go to <addr> on the side
 *     connection; the map is not changed. Not for scripts: they declare
 *     only {ns}:meta, and on the target a key not migrated yet would look
 *     missing; a script's ASK is a transient fault (TRYAGAIN: backoff,
 *     retry) until the migration ends with MOVED;
 *   - a blocking command (BRPOP...) is not followed: its MOVED/ASK
 *     becomes a lost connection that did not run the command;
 *   - "Script attempted to access a non local key" / "...cluster is
 *     down" (a script meeting a slot in migration or a cluster without
 *     quorum) is a transient fault, as CLUSTERDOWN and TRYAGAIN are
 *     (broker_fault.h): backoff, reconnect, a fresh map.
 * Not thread-safe (one client, one thread), like the client.
 */
#ifndef SQ_BROKER_CLUSTER_H
#define SQ_BROKER_CLUSTER_H

#include <hiredis.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syncq/client.h>
#include <syncq/error.h>

#define SQ_CLUSTER_SLOTS 16384
#define SQ_CLUSTER_MAX_NODES 64

struct ssl_st;
struct sq_cmd_copy;

/* One node of the slot map. */
struct sq_cluster_node {
    char host[256];
    int port;
    bool master;
    bool failed;   /* CLUSTER SHARDS health is not "online" */
    int shard;     /* its shard in the last map (a master and its replicas
                      share it): a slot now on another node of the same
                      shard was failed over, on another shard moved */
};

/* The cluster state of one client (c->conn->cl). */
struct sq_cluster {
    int slot;                    /* slot of the namespace's hash tag */
    char tag[72];                /* the namespace */
    /* the map, as the last node asked saw it */
    struct sq_cluster_node nodes[SQ_CLUSTER_MAX_NODES];
    int nnodes;
    int masters;                 /* masters serving at least one slot */
    int owner;                   /* index of our slot's master, -1: none */
    char map_from[300];          /* "host:port" that answered, for logs */
    /* MOVED of our slot: the node to reconnect to (port 0: none) */
    char hint_host[256];
    int hint_port;
    bool switch_pending;         /* reconnect at the next call */
    /* counters since the client opened (topology, /metrics) */
    int64_t moved;               /* MOVED replies followed */
    int64_t asked;               /* ASK replies followed */
    int64_t slot_moves;          /* our slot seen on a new node by MOVED */
    int64_t refreshes;           /* slot maps fetched */
    /* the side connection redirects are followed on */
    redisContext *side;
    struct ssl_st *side_ssl;
    char side_host[256];
    int side_port;
};

/* Slot of a key: CRC16 (XMODEM) of its hash tag (the text between the
 * first '{' and the next '}', when not empty), else of the whole key,
 * modulo 16384 (Redis Cluster's rule). Thread-safe. */
int sq_cluster_key_slot(const char *key, size_t n);

/* Create c->conn->cl for a cluster URL (called by sq_conn_init, after
 * c->prefix is set). Errors: SYNCQ_ENOMEM. */
int sq_cluster_init(syncq_client *c, syncq_error *err);

/* Free a cluster state (its side connection too). NULL is a no-op. */
void sq_cluster_free(struct sq_cluster *cl);

/* The node to connect the main connection to: the MOVED hint if any,
 * else the master of our slot in a freshly fetched map. *moved tells
 * which. Errors (one line, no password): SYNCQ_ECONN (no node reachable,
 * the slot has no master, its master is marked failed), SYNCQ_EINVAL (a
 * seed is not a cluster node: cluster support disabled), SYNCQ_EAUTH. */
int sq_cluster_locate(syncq_client *c, char *host, size_t cap, int *port,
                      bool *moved, syncq_error *err);

/* A MOVED of our slot asked for a new main connection: the next call
 * reconnects (sq_client_ensure). Clears the request. */
bool sq_cluster_take_switch(syncq_client *c);

/* Look at one reply (the connection layer calls it for every reply, with
 * the command it answers): follow MOVED/ASK (the reply is replaced by the
 * followed one), or turn a cluster error into a lost connection
 * (REDIS_ERR, c->rc->err/errstr set, *reply freed and NULL). REDIS_OK
 * otherwise. `cmd` NULL: the command is unknown, nothing is followed. */
int sq_cluster_check_reply(syncq_client *c, redisReply **reply,
                           const struct sq_cmd_copy *cmd);

/* {slot, namespace, node, masters, nodes, moved, asked, slot_moves,
 * map_refreshes} for the topology JSON. NULL on OOM. */
json_t *sq_cluster_topology(const syncq_client *c);

/* Make {ns}:meta exist (SET NX, once per connect; a refusal is ignored).
 * In a cluster it is the key every script declares first: a script that
 * declares all its keys then runs wherever they all are during a slot
 * migration (docs/redis-keys.md "Declared keys"). */
void sq_cluster_mark_meta(syncq_client *c);

/* ---- inside the cluster code (broker_cluster*.c) --------------------- */

/* Open a bare link to host:port with the client's transport and
 * credentials: connect, timeouts, TLS handshake, AUTH. */
int sq_cluster_link_open(syncq_client *c, const char *host, int port,
                         redisContext **out, struct ssl_st **ssl,
                         syncq_error *err);
void sq_cluster_link_close(redisContext **rc, struct ssl_st **ssl);

#endif
