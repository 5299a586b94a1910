#!/usr/bin/env bash
# The desktop app's end-to-end test (crates/cli/tests/app_e2e.rs): the real Tauri binary driven
# through tauri-driver + WebKitWebDriver on a private Xvfb display, with a `bandsync join`
# follower. Installs what is missing, builds the app with its UI embedded, and runs the test.
#
#   bash scripts/app-e2e.sh                         # screenshots in $CARGO_TARGET_DIR/tmp/app/
#   BANDSYNC_SCREENSHOTS=1 bash scripts/app-e2e.sh  # ... and copied to docs/screenshots/
#
# The test is #[ignore]d in a plain `cargo test` (it needs the display and this build of the app);
# this script runs it with --ignored.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_build_tools
# WebKitWebDriver, and Xvfb with xvfb-run (which needs xauth).
need_apt webkit2gtk-driver xvfb xauth
cd "$ROOT"
start=$(date +%s)

# tauri-driver is not packaged for Debian: a cargo install, cached outside the clone.
TOOLS="$HOME/.cache/bandsync/tools"
export PATH="$TOOLS/bin:$PATH"
if ! command -v tauri-driver >/dev/null; then
  say "installing tauri-driver into $TOOLS"
  cargo install tauri-driver --locked --root "$TOOLS"
fi

# The app embeds ui/dist when it is built: build the UI from the current sources (a few
# seconds; the packages are installed first when they are not yet).
if [ -d ui/node_modules ]; then
  need_node
  say "app e2e: building the web UI"
  npm --prefix ui run build --silent
else
  build_ui
fi

# `custom-protocol` serves the embedded UI; without it the binary loads the vite dev server.
say "app e2e: building bandsync-desktop (UI embedded) and the test"
cargo build -p bandsync-desktop --features custom-protocol --locked
cargo test -p bandsync-cli --test app_e2e --locked --no-run

say "app e2e: running under xvfb-run"
xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test -p bandsync-cli --test app_e2e --locked -- --ignored --nocapture

say "app e2e passed in $(( $(date +%s) - start )) s"
