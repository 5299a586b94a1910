#!/usr/bin/env bash
# The soak and chaos run (tests/soak.rs), long: MEMBERS members (default 50) on one `bandsync host`
# for MINUTES (default 10), each through its own impairing relay; members edit, sleep, drop and
# come back; the host is killed with -9 and restarted twice. Prints the clock spread between
# members (in all and while the host was down), acknowledged edits lost, replicas diverged from
# the host, the host's panics, duplicate participants, the host's RSS growth and its SIGTERM exit
# time, and fails if anything acknowledged was lost, diverged or panicked.
# Release build. `scripts/test.sh` runs the 40-second smoke version.
#
#   bash scripts/soak.sh [MINUTES] [MEMBERS]
source "$(dirname "$0")/lib.sh"
need_build_tools
cd "$ROOT"
say "building (release)"
cargo build --release --locked -p bandsync-cli
say "soak: ${2:-50} members for ${1:-10} minutes"
cargo test --release --locked -p bandsync-e2e --test soak -- --minutes "${1:-10}" --members "${2:-50}"
