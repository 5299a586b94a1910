#!/usr/bin/env bash
# Installs whatever is missing, builds BandSync and hosts a session.
# Extra arguments go to `bandsync host` (for example --bind 127.0.0.1:7878 --name "Friday gig").
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_build_tools
cd "$ROOT"
say "building bandsync (release)"
cargo build --release --locked -p bandsync-cli
say "hosting a session (Ctrl-C to stop)"
exec "$CARGO_TARGET_DIR/release/bandsync" host "$@"
