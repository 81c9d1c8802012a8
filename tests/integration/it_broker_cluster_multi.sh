#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# it_broker_cluster_multi.sh: it_broker_cluster.sh with ONE worker process
# serving both namespaces (`worker -Q NS1:default,NS2:default`, a
# supervisor per namespace under one parent) and the first namespace's
# slot moved with `redis-cli --cluster reshard` (keys in batches of 10)
# while tasks flow: the reshard completes (no BUSYKEY abort), nothing
# acknowledged is lost, duplicates and recovery times are printed
# (README "Redis Cluster"), and one TERM stops the worker.
# TEST_TIMEOUT: 300
# TEST_LABELS: slow
export SQ_CLUSTER_ONE_WORKER=1 SQ_CLUSTER_MOVE=reshard
exec bash "$(cd "$(dirname "$0")" && pwd)/it_broker_cluster.sh"
