#!/usr/bin/env bash
# Installs whatever is missing, builds the desktop app (release) and opens it hosting a session.
#
#   bash scripts/run.sh ["Session name"]          the app, hosting; phones join from its QR code
#   bash scripts/run.sh --headless [HOST ARGS]    no window: `bandsync host` (same server and phone UI)
#
# Without a display (no $DISPLAY or $WAYLAND_DISPLAY) it runs headless by itself. mDNS is on;
# BANDSYNC_NO_MDNS=1 turns it off (on the project's CI machines mDNS may only run in a namespace).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_build_tools
cd "$ROOT"
build_ui

if [ "${1:-}" = --headless ] || [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  if [ "${1:-}" = --headless ]; then shift; else say "no display: hosting with the command line tool instead of the app"; fi
  say "building bandsync (release)"
  linked cargo build --release --locked -p bandsync-cli
  say "hosting a session (Ctrl-C to stop)"
  exec "$CARGO_TARGET_DIR/release/bandsync" host "$@"
fi

say "building the BandSync app (release, UI embedded)"
linked cargo build --release --locked -p bandsync-desktop
say "opening BandSync, hosting \"${1:-Rehearsal}\""
exec "$CARGO_TARGET_DIR/release/bandsync-desktop" --host "${1:-Rehearsal}"
