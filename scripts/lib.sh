# Shared by scripts/run.sh and scripts/test.sh: find or install what BandSync needs on Debian.
# Sourced, not run.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Builds are cached outside the clone, so a fresh clone (as CI makes) reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bandsync-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

SCRIPT_START=${SCRIPT_START:-$(date +%s)}
# A step's heading, with the seconds since the script started (so a log shows where time goes).
say() { printf '\n==> [%4ds] %s\n' "$(( $(date +%s) - SCRIPT_START ))" "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1
  fi
}

APT_UPDATED=0
# need_apt PKG...: installs the Debian packages that are not installed yet.
need_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_rust() {
  if ! command -v cargo >/dev/null; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null; then
    need_apt cargo rustc
  fi
  if command -v rustup >/dev/null; then
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt || true
  fi
}

# What building needs. libasound2-dev: cpal's ALSA backend (the metronome's audio output).
# libwebkit2gtk-4.1-dev: the Tauri app (src-tauri), a workspace member. libjack-jackd2-dev: jack-sys's
# build script asks pkg-config for JACK on Linux (the library itself is opened at run time). mold:
# the linker `linked` runs the builds with.
BUILD_PACKAGES=(build-essential pkg-config ca-certificates curl libasound2-dev libwebkit2gtk-4.1-dev
  libjack-jackd2-dev mold)

# linked CMD...: runs a cargo build with mold as the system linker (`mold -run` swaps it in under
# the C compiler driver): the same objects and the same cargo fingerprints, so a later plain
# `cargo test` reuses the build. Linking is most of a fresh clone's rebuild of the workspace's ~40
# test binaries: 60 s with GNU ld, 24 s with mold (docs/BENCHMARKS.md, CI time). Only builds run
# under it, never tests: its LD_PRELOAD would reach every process a test starts, and AddressSanitizer
# refuses to start behind another preloaded library. Without mold, the command runs as it is.
linked() {
  if command -v mold >/dev/null; then mold -run "$@"; else "$@"; fi
}
# What the tests need besides: PulseAudio to play into and record (pulseaudio, pulseaudio-utils;
# libasound2-plugins routes ALSA's default device to it) and ladspa-sdk's delay plugin for injected
# output latency; Chromium with chromedriver, and WebKit's driver (with MiniBrowser) under Xvfb, for
# the phone page and the app; unshare and ip for the network namespaces of the mDNS test; jackd2
# (jackd -d dummy) for the MIDI out tests; postgresql (its server binaries: the store suite and
# `serve --database` tests run initdb into temp folders of their own); haproxy, the proxy in front
# of the cluster tests' nodes; cmake and libclang-dev, to build Ableton's Link (rusty_link) for the
# `link` feature's test.
TEST_PACKAGES=(pulseaudio pulseaudio-utils libasound2-plugins ladspa-sdk chromium chromium-driver
  webkit2gtk-driver xvfb xauth util-linux iproute2 jackd2 postgresql haproxy dbus-daemon dbus-bin
  cmake libclang-dev)

need_build_tools() {
  need_apt "${BUILD_PACKAGES[@]}"
  need_rust
}

# Everything `scripts/test.sh` needs, in one apt transaction.
need_test_tools() {
  need_apt "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  need_rust
  need_python_peers
}

# The independent peers from Python's registry that the interoperability tests talk to (pymidi:
# Apple's network MIDI session; aalink: Ableton's Link, for the Link bridge; zeroconf: Bonjour, as
# a Mac finds a network MIDI session), in a virtual environment cached outside the clone. The
# tests run $BANDSYNC_PYTHON.
need_python_peers() {
  local venv="$HOME/.cache/bandsync/py"
  if ! "$venv/bin/python" -c 'import pymidi, aalink, zeroconf' 2>/dev/null; then
    python3 -m venv --help >/dev/null 2>&1 || need_apt python3-venv
    say "Python peers (pymidi, aalink, zeroconf) into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check pymidi==0.5.0 aalink==0.2.3 zeroconf==0.154.0
  fi
  export BANDSYNC_PYTHON="$venv/bin/python"
}

# Node 20.19 or later builds the web UI (Vite) and runs its tests and the stock Yjs client test.
need_node() {
  command -v node >/dev/null || need_apt nodejs
  command -v npm >/dev/null || need_apt npm
  local v
  v="$(node -p 'process.versions.node')"
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
    echo "BandSync's UI needs Node >= 20.19; this machine has $v. Install a newer nodejs package (NodeSource's Debian repository has one)." >&2
    return 1
  fi
}

# The Rust core for the phone page (crates/wasm), into ui/src/wasm/bandsync.wasm: the UI imports it.
# Kept in $CARGO_TARGET_DIR/wasm-built/ under the hash of everything it is built from (below), so
# that a fresh clone of unchanged code does not build it again: cargo judges a clone's sources by
# their files' times, which a clone makes new, and compiled core, audio and wasm again at opt-level
# "z" with LTO (14 s of a warm CI run, and 3 s of wasm-opt).
build_wasm() {
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
  need_apt binaryen
  local key kept
  key="$(wasm_inputs | sha256sum | cut -c1-32)"
  kept="$CARGO_TARGET_DIR/wasm-built/$key.wasm"
  if [ -f "$kept" ]; then
    say "the core for the page: crates/wasm to wasm32, as built from the same inputs ($key)"
    cp "$kept" "$ROOT/ui/src/wasm/bandsync.wasm"
    return
  fi
  compile_wasm
  mkdir -p "$(dirname "$kept")"
  cp "$ROOT/ui/src/wasm/bandsync.wasm" "$kept.tmp" && mv "$kept.tmp" "$kept"
  # The newest 20 are kept.
  ls -t "$(dirname "$kept")"/*.wasm | tail -n +21 | xargs -r -d '\n' rm -f
}

# Everything the page's wasm is built from: the toolchain and wasm-opt, the build steps, the
# workspace's manifest and lock file, cargo's configuration and flags, and every file of each crate
# of the workspace that bandsync-wasm is built from (read from cargo's metadata), by path in the
# clone and content.
wasm_inputs() {
  rustc -vV
  wasm-opt --version
  declare -f compile_wasm
  env | grep -E '^(RUSTFLAGS|RUSTC_|CARGO_ENCODED_RUSTFLAGS|CARGO_BUILD_|CARGO_PROFILE_|CARGO_TARGET_WASM32)' | sort || true
  cat "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" "$ROOT"/.cargo/config* "${CARGO_HOME:-$HOME/.cargo}"/config* 2>/dev/null || true
  cargo metadata --format-version 1 --locked --filter-platform wasm32-unknown-unknown --manifest-path "$ROOT/Cargo.toml" |
    python3 -c '
import json, os, sys
m = json.load(sys.stdin)
packages = {p["id"]: p for p in m["packages"]}
nodes = {n["id"]: n for n in m["resolve"]["nodes"]}
todo, seen = [next(i for i, p in packages.items() if p["name"] == "bandsync-wasm")], set()
while todo:
    i = todo.pop()
    if i not in seen:
        seen.add(i)
        todo += [d["pkg"] for d in nodes[i]["deps"] if any(k["kind"] != "dev" for k in d["dep_kinds"])]
for i in sorted(seen):
    if packages[i]["source"] is None:
        print(os.path.dirname(packages[i]["manifest_path"]))' |
    while read -r dir; do
      (cd "$ROOT" && find "${dir#"$ROOT"/}" -type f -not -path '*/target/*' | LC_ALL=C sort | xargs -d '\n' sha256sum)
    done
}

compile_wasm() {
  say "the core for the page: crates/wasm to wasm32"
  cargo build --locked -p bandsync-wasm --target wasm32-unknown-unknown --profile wasm
  # binaryen's passes that shrink without inlining everywhere (-Oz inlines, which compresses worse:
  # 188 KB gzip against 172 KB): unused code and arguments out, identical and similar functions
  # merged, constants folded, blocks and branches simplified; then locals simplified and merged,
  # which opens more of the same: the two rounds take 3 s and save 1.9 kB of gzip over one
  # round without the locals (a third round saves 30 bytes more). Then redundant sets out after
  # the locals (--rse), the smallest functions inlined (up to 6 IR nodes everywhere, up to 15
  # where they have one caller: 3.8 kB of gzip less, where inlining as -Oz does costs 16 kB more),
  # and the stack IR optimized as it is written, at shrink level 2 (the local.get and local.set a
  # stack machine does not need: 1.1 kB less with --rse). And constants under 1 KB added to
  # addresses folded into the loads' and stores' offsets (0.5 kB less): that changes an access only
  # where its address would wrap past 4 GiB into the lowest 1 KB. That is the far end of Rust's
  # stack (it runs down from 1 MB; the data and the heap lie above), reached only by a stack
  # already overflowed, which then traps instead of writing there.
  local shrink=(--dce --vacuum --remove-unused-module-elements --strip-producers
    --duplicate-function-elimination --merge-similar-functions
    --precompute --optimize-instructions --code-folding --merge-blocks --remove-unused-brs
    --remove-unused-names --dae-optimizing)
  local locals=(--simplify-locals --coalesce-locals --reorder-locals --vacuum
    --optimize-instructions --remove-unused-brs --merge-blocks --rse --vacuum)
  wasm-opt "${shrink[@]}" "${locals[@]}" "${shrink[@]}" "${locals[@]}" \
    --optimize-added-constants --low-memory-unused --inlining-optimizing \
    --always-inline-max-function-size=6 --one-caller-inline-max-function-size=15 \
    --flexible-inline-max-function-size=0 --generate-stack-ir --optimize-stack-ir --shrink-level=2 \
    --enable-bulk-memory --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int \
    --enable-multivalue --enable-reference-types \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/bandsync_wasm.wasm" -o "$ROOT/ui/src/wasm/bandsync.wasm"
}

# Installs the UI's and the node tests' packages exactly as locked, and builds the UI into ui/dist
# (the core's wasm first).
build_ui() {
  need_node
  build_wasm
  say "web UI: npm ci and build"
  npm ci --prefix "$ROOT/ui" --no-audit --no-fund --loglevel=error
  npm ci --prefix "$ROOT/tests/node" --no-audit --no-fund --loglevel=error
  npm --prefix "$ROOT/ui" run build --silent
}

# The desktop app's end-to-end test (src-tauri/tests/app_e2e.rs): WebKitWebDriver, Xvfb and
# tauri-driver (not packaged for Debian: a cargo install, cached outside the clone). The app binary
# itself is built by `cargo test` with the rest of the workspace (one feature resolution, so Tauri
# compiles once), with the UI embedded (build_ui first).
need_app_e2e_tools() {
  need_apt webkit2gtk-driver xvfb xauth
  local tools="$HOME/.cache/bandsync/tools"
  export PATH="$tools/bin:$PATH"
  if ! command -v tauri-driver >/dev/null; then
    say "installing tauri-driver into $tools"
    cargo install tauri-driver --locked --root "$tools"
  fi
}

# cargo-fuzz and the nightly toolchain it needs, for scripts/fuzz.sh.
need_fuzz_tools() {
  need_rust
  command -v rustup >/dev/null || { echo "fuzzing needs rustup (for the nightly toolchain)" >&2; return 1; }
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
}
