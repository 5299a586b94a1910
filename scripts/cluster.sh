#!/usr/bin/env bash
# A local cluster on this machine, on loopback: a Postgres of its own (initdb into a temp folder),
# 3 `bandsync serve --node` nodes sharing it, and HAProxy in front routing by session id
# (tests/harness/cluster.rs). `up` prints the proxy's address and an organizer token as JSON,
# {"url":…,"token":…,"database":…,"nodes":3}; `status` prints it again while the cluster runs;
# `down` stops everything. Tests and benchmarks use the same harness.
#
#   bash scripts/cluster.sh up [NODES] | status | down
source "$(dirname "$0")/lib.sh"
STATE="${BANDSYNC_CLUSTER_DIR:-${TMPDIR:-/tmp}/bandsync-cluster}"
mkdir -p "$STATE"
alive() { [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; }
case "${1:-}" in
  up)
    if alive; then cat "$STATE/cluster.json"; exit 0; fi
    need_build_tools
    need_apt postgresql haproxy
    cd "$ROOT"
    cargo build --locked -q -p bandsync-cli
    cargo build --locked -q -p bandsync-e2e --example cluster
    rm -f "$STATE/cluster.json" "$STATE/stop"
    nohup cargo run --locked -q -p bandsync-e2e --example cluster -- "$STATE" "${2:-3}" >"$STATE/log" 2>&1 &
    echo $! >"$STATE/pid"
    for _ in $(seq 600); do
      [ -f "$STATE/cluster.json" ] && { cat "$STATE/cluster.json"; exit 0; }
      alive || { cat "$STATE/log" >&2; exit 1; }
      sleep 0.1
    done
    echo "the cluster did not come up in 60 s; see $STATE/log" >&2; exit 1 ;;
  status)
    if alive && [ -f "$STATE/cluster.json" ]; then cat "$STATE/cluster.json"; else echo '{"up":false}'; fi ;;
  down)
    if alive; then
      touch "$STATE/stop"
      for _ in $(seq 300); do alive || break; sleep 0.1; done
    fi
    rm -f "$STATE/pid" "$STATE/stop"; echo '{"up":false}' ;;
  *) echo "usage: scripts/cluster.sh up [NODES] | status | down" >&2; exit 2 ;;
esac
