# Jobs that run in the background beside scripts/test.sh's foreground steps. Sourced, not run.
#
# Each job runs in a session of its own (so a step failing first stops all of it: the exit trap
# kills every job still running), its output kept in a temp file that is shown when the job is
# waited for: `beside NAME CMD...` starts one, `beside_done NAME SHOWN TAIL` waits for it.

declare -A BESIDE_PID=() BESIDE_LOG=()
# Temp files removed when the script exits (`temp_file VAR`).
BESIDE_TEMP=()

beside_cleanup() {
  local name
  for name in "${!BESIDE_PID[@]}"; do
    # The job's session, and the job itself (a job started moments ago may not have its session
    # yet).
    kill -- -"${BESIDE_PID[$name]}" 2>/dev/null || true
    kill "${BESIDE_PID[$name]}" 2>/dev/null || true
    rm -f "${BESIDE_LOG[$name]}"
  done
  rm -f "${BESIDE_TEMP[@]}"
}
trap beside_cleanup EXIT

# temp_file VAR: sets VAR to a new temp file, removed when the script exits.
temp_file() {
  local f
  f="$(mktemp)"
  BESIDE_TEMP+=("$f")
  printf -v "$1" '%s' "$f"
}

# beside NAME CMD...: starts CMD in the background, in a session of its own.
beside() {
  local name="$1"
  shift
  BESIDE_LOG[$name]="$(mktemp)"
  setsid "$@" >"${BESIDE_LOG[$name]}" 2>&1 &
  BESIDE_PID[$name]=$!
}

# beside_running NAME: whether NAME has not ended yet.
beside_running() {
  kill -0 "${BESIDE_PID[$1]}" 2>/dev/null
}

# beside_wait NAME SHOWN TAIL: waits for NAME and prints the lines of its output that match the
# regex SHOWN (all of it if SHOWN is empty). If it failed: the last TAIL lines too, and it returns 1.
beside_wait() {
  local name="$1" shown="$2" tail="$3" status=0
  local pid="${BESIDE_PID[$name]}" log="${BESIDE_LOG[$name]}"
  wait "$pid" || status=$?
  unset "BESIDE_PID[$name]" "BESIDE_LOG[$name]"
  if [ -z "$shown" ]; then cat "$log"; else grep -E "$shown" "$log" || true; fi
  if [ "$status" != 0 ]; then
    [ -z "$shown" ] || tail -"$tail" "$log" >&2
    echo "the job beside ($name) failed" >&2
  fi
  rm -f "$log"
  [ "$status" = 0 ]
}

# beside_done NAME SHOWN TAIL: beside_wait, and the script stops if the job failed.
beside_done() {
  beside_wait "$@" || exit 1
}
