#!/usr/bin/env bash
# Start-time benchmark of the desktop app: from spawning the binary to the moment its hosted
# session answers on the network. That covers the window, the WebKit view, loading the embedded
# UI, and the UI's `host_session` call (started by `--host`), which starts the peer server:
# the point where a phone could scan the code and join. Prints each run and the median.
#
#   bash scripts/bench-app-start.sh [debug|release] [RUNS]
#
# Runs under its own Xvfb display, with mDNS off and the session on loopback.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_apt xvfb xauth curl
PROFILE="${1:-release}"
RUNS="${2:-7}"
BIN="$CARGO_TARGET_DIR/$PROFILE/bandsync-desktop"
[ -x "$BIN" ] || { echo "no $BIN: cargo build ${PROFILE/debug/} -p bandsync-desktop" >&2; exit 1; }
PORT=7979
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -u
  BIN="$1"; RUNS="$2"; PORT="$3"
  times=()
  for i in $(seq "$RUNS"); do
    home=$(mktemp -d)
    t0=$(date +%s%N)
    XDG_DATA_HOME=$home XDG_CONFIG_HOME=$home XDG_CACHE_HOME=$home BANDSYNC_NO_MDNS=1 \
      BANDSYNC_BIND=127.0.0.1:$PORT "$BIN" --host Bench --name Bench >/dev/null 2>&1 &
    pid=$!
    ok=0
    for _ in $(seq 3000); do
      if curl -fs "http://127.0.0.1:$PORT/api/sessions" 2>/dev/null | grep -q "\"Bench\""; then ok=1; break; fi
      sleep 0.005
    done
    t1=$(date +%s%N)
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    rm -rf "$home"
    [ "$ok" = 1 ] || { echo "run $i: the session never answered" >&2; exit 1; }
    ms=$(( (t1 - t0) / 1000000 ))
    echo "run $i: $ms ms"
    times+=("$ms")
  done
  sorted=($(printf "%s\n" "${times[@]}" | sort -n))
  echo "median of $RUNS: ${sorted[$(( RUNS / 2 ))]} ms (min ${sorted[0]}, max ${sorted[$(( RUNS - 1 ))]})"
' _ "$BIN" "$RUNS" "$PORT"
