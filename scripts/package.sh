#!/usr/bin/env bash
# Builds the desktop app's Linux packages (.deb and .rpm) with Tauri's bundler, and with --check
# installs the .deb on this machine (dpkg -i), starts the installed app under Xvfb and waits until
# it hosts a session, then removes the package again.
#
#   bash scripts/package.sh                  # release packages, in $CARGO_TARGET_DIR/release/bundle/
#   bash scripts/package.sh --check          # ... then install, start and check the .deb
#   bash scripts/package.sh --debug --check  # the same on a debug build (faster to build)
#   bash scripts/package.sh --debug --prebuilt --check
#                                            # bundle the debug binary `cargo test` already built
#                                            # (scripts/test.sh does this: no second build)
#
# AppImage is not built: Tauri's bundler downloads linuxdeploy and its plugins from GitHub for it,
# which this project's machines cannot reach (docs/APP.md). macOS and Windows bundles are built on
# those systems with `bash scripts/tauri.sh build`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_build_tools
cd "$ROOT"
profile=release debug=() check=0 verb=build
for a in "$@"; do
  case "$a" in
    --debug) profile=debug debug=(--debug) ;;
    --check) check=1 ;;
    --prebuilt) verb=bundle ;;
    *) echo "usage: scripts/package.sh [--debug] [--prebuilt] [--check]" >&2; exit 2 ;;
  esac
done

bundle="$CARGO_TARGET_DIR/$profile/bundle"
rm -rf "$bundle/deb" "$bundle/rpm"
if [ "$verb" = build ]; then
  build_ui
else
  [ -x "$CARGO_TARGET_DIR/$profile/bandsync-desktop" ] ||
    { echo "--prebuilt: no $CARGO_TARGET_DIR/$profile/bandsync-desktop; build it first" >&2; exit 1; }
fi
say "bundling the desktop app ($profile): .deb and .rpm"
# The UI is built above (or embedded in the prebuilt binary); the bundler's beforeBuildCommand
# would build it again.
bash scripts/tauri.sh "$verb" "${debug[@]}" --bundles deb rpm --config '{"build":{"beforeBuildCommand":""}}'
deb="$(ls "$bundle"/deb/*.deb)"
rpm="$(ls "$bundle"/rpm/*.rpm)"
say "built $(basename "$deb") ($(du -h "$deb" | cut -f1)) and $(basename "$rpm") ($(du -h "$rpm" | cut -f1))"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'
[ "$check" = 1 ] || exit 0

# The check: what a user does with the .deb.
need_apt xvfb xauth curl
pkg="$(dpkg-deb --field "$deb" Package)"
say "installing $pkg with dpkg -i"
as_root dpkg -i "$deb" >/dev/null || { as_root apt-get install -f -y -qq >/dev/null && as_root dpkg -i "$deb" >/dev/null; }
exe="$(dpkg -L "$pkg" | grep -E '^/usr/bin/' | head -1)"
[ -x "$exe" ] || { echo "the package installed no program in /usr/bin" >&2; exit 1; }
grep -q '^Exec=' "$(dpkg -L "$pkg" | grep -E '\.desktop$' | head -1)" || { echo "no desktop entry" >&2; exit 1; }
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
app="" xvfb=""
cleanup() {
  # The app in a session of its own: its WebKit processes go with it.
  [ -z "$app" ] || kill -- "-$app" 2>/dev/null || true
  [ -z "$xvfb" ] || kill "$xvfb" 2>/dev/null || true
  wait 2>/dev/null || true
  as_root dpkg -r "$pkg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# A display of its own (Xvfb picks a free number and writes it to the file).
Xvfb -displayfd 9 -screen 0 1280x800x24 -nolisten tcp 9>"$work/display" >/dev/null 2>&1 &
xvfb=$!
until [ -s "$work/display" ]; do
  kill -0 "$xvfb" 2>/dev/null || { echo "Xvfb did not start" >&2; exit 1; }
  sleep 0.05
done
say "starting the installed $exe on display :$(cat "$work/display"), hosting \"Installed\" on 127.0.0.1:$port"
# mDNS off: it may only run inside a network namespace on the project's machines.
DISPLAY=":$(cat "$work/display")" BANDSYNC_BIND="127.0.0.1:$port" BANDSYNC_NO_MDNS=1 HOME="$work" \
  XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" setsid "$exe" --host Installed >"$work/app.log" 2>&1 &
app=$!
# A cold WebKitGTK start with a fresh profile takes seconds on this VM; the deadline is generous,
# and the loop ends as soon as the session is listed.
for _ in $(seq 1 600); do
  if curl -fsS "http://127.0.0.1:$port/api/sessions" 2>/dev/null | grep -q '"name":"Installed"'; then
    say "the installed app hosts: $(curl -fsS "http://127.0.0.1:$port/api/sessions")"
    exit 0
  fi
  kill -0 "$app" 2>/dev/null || break
  sleep 0.1
done
echo "the installed app did not host a session within 60 s; its output:" >&2
cat "$work/app.log" >&2
exit 1
