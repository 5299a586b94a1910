#!/usr/bin/env bash
# The desktop app's end-to-end test alone (src-tauri/tests/app_e2e.rs; `scripts/test.sh` runs it
# with every other test): the real Tauri binary driven through tauri-driver + WebKitWebDriver on
# an Xvfb display the test starts itself, with a `bandsync join` follower.
#
#   bash scripts/app-e2e.sh                         # screenshots in $CARGO_TARGET_DIR/tmp/app/
#   BANDSYNC_SCREENSHOTS=1 bash scripts/app-e2e.sh  # ... and copied to docs/screenshots/
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_build_tools
cd "$ROOT"
[ -f ui/dist/index.html ] || build_ui
need_app_e2e_tools
# Every binary, built as `scripts/test.sh` builds them (one feature resolution, so nothing is
# built twice), then the one test.
cargo test --workspace --locked --no-run
cargo test -p bandsync-desktop --test app_e2e --locked -- --nocapture
