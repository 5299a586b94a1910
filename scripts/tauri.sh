#!/usr/bin/env bash
# The Tauri CLI, pointed at this repository's layout: the app crate is src-tauri/ (whose
# tauri.conf.json links to the one at the top level), the front end is ui/. Without the two
# variables the CLI, started at the top level, would take the top-level folder for the app crate.
#
#   bash scripts/tauri.sh dev                      # vite + the app, reloading
#   bash scripts/tauri.sh build --no-bundle        # release binary, UI built first
#   bash scripts/tauri.sh build                    # plus .deb/.rpm/.AppImage (or .dmg/.msi)
#   bash scripts/tauri.sh android init|dev|build   # on a machine with the Android SDK + NDK
#   bash scripts/tauri.sh ios init|dev|build       # on a Mac with Xcode
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export TAURI_APP_PATH="$ROOT/src-tauri"
export TAURI_FRONTEND_PATH="$ROOT/ui"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bandsync-target}"
if [ ! -d ui/node_modules ]; then
  npm --prefix ui ci
fi
# The app crate embeds ui/dist by default (feature custom-protocol); `dev` turns that off so the
# window loads the vite dev server instead.
if [ "${1:-}" = dev ]; then
  shift
  exec npx --yes "@tauri-apps/cli@${TAURI_CLI_VERSION:-2}" dev "$@" -- --no-default-features
fi
exec npx --yes "@tauri-apps/cli@${TAURI_CLI_VERSION:-2}" "$@"
