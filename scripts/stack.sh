#!/usr/bin/env bash
# Local Prefect stack for medprep: server + work pool + deployments + worker (README.md, "Run on Prefect").
#
#   scripts/stack.sh up      start what is not running, (re)deploy prefect.yaml; safe to repeat
#   scripts/stack.sh deploy  (re)deploy prefect.yaml to the running server
#   scripts/stack.sh status  what runs, where, and the deployments
#   scripts/stack.sh run D [-p k=v ...]  run deployment D (e.g. prepare/demo) on this stack, no venv needed
#   scripts/stack.sh down    stop the worker and the server (the database stays)
#   scripts/stack.sh env     print the exports that point a shell's `prefect` at this stack
#
# Everything lives under .prefect/ in the repository: SQLite database, result/cache records
# (storage/), pid files and logs. Telemetry is off and the server binds to 127.0.0.1 only.
# Overrides: MEDPREP_PORT (default 4200), MEDPREP_PREFECT (the prefect executable),
# PREFECT_API_DATABASE_CONNECTION_URL (PostgreSQL instead of SQLite).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$REPO/.prefect"
PORT=${MEDPREP_PORT:-4200}
HOST=127.0.0.1
POOL=medprep-process

if [ -n "${MEDPREP_PREFECT:-}" ]; then
  PREFECT=$MEDPREP_PREFECT
elif [ -x "$REPO/.venv/bin/prefect" ]; then
  PREFECT="$REPO/.venv/bin/prefect"
elif command -v prefect >/dev/null 2>&1; then
  PREFECT=$(command -v prefect)
else
  echo "stack.sh: no prefect executable: pip install -e . (in .venv), or set MEDPREP_PREFECT" >&2
  exit 1
fi

export PREFECT_HOME="$STATE"
export PREFECT_API_URL="http://$HOST:$PORT/api"
export PREFECT_SERVER_API_HOST=$HOST PREFECT_SERVER_API_PORT=$PORT
# no outbound traffic: client and server telemetry off, no promotional UI content
export DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT=false
# task results and cache records under the project, seen by the worker and by every rerun
export PREFECT_LOCAL_STORAGE_PATH="$STATE/storage"
export MEDPREP_HOME="$REPO"
# the worker asks the (local) server for due runs every 3 s instead of Prefect's 10 s
export PREFECT_WORKER_QUERY_SECONDS=${PREFECT_WORKER_QUERY_SECONDS:-3}

mkdir -p "$STATE"
cd "$REPO"

alive() {  # alive NAME: the process in .prefect/NAME.pid is running
  local f="$STATE/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

healthy() {
  curl -fsS --max-time 2 "$PREFECT_API_URL/health" >/dev/null 2>&1
}

start_bg() {  # start_bg NAME CMD...: own session (process group), log and pid under .prefect/
  local name=$1
  shift
  setsid nohup "$@" >>"$STATE/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/$name.pid"
}

stop() {  # stop NAME: TERM the process group, then KILL after 15 s
  local name=$1 pid
  if ! alive "$name"; then
    rm -f "$STATE/$name.pid"
    return 0
  fi
  pid=$(cat "$STATE/$name.pid")
  local t0=$SECONDS
  # the worker lets a running flow finish its grace period: say so rather than hang silently
  echo "stopping $name (pid $pid; a few seconds)..."
  # SIGINT first: Prefect's worker exits on it at once when idle (on SIGTERM it waits out a grace period)
  kill -INT -- "-$pid" 2>/dev/null || kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 4); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$STATE/$name.pid"
  echo "stopped $name in $(( SECONDS - t0 )) s"
}

server_up() {
  if healthy; then
    alive server || echo "note: a Prefect server already answers on $PREFECT_API_URL (not started by this script); using it"
    return 0
  fi
  if alive server; then
    echo "server (pid $(cat "$STATE/server.pid")) is starting..."
  else
    if ! "$(dirname "$PREFECT")/python" - "$HOST" "$PORT" <<'EOF' 2>/dev/null; then
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is no conflict
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
finally:
    s.close()
EOF
      echo "stack.sh: port $PORT is taken by another program; set MEDPREP_PORT" >&2
      exit 1
    fi
    start_bg server "$PREFECT" server start --host "$HOST" --port "$PORT"
    echo "server starting (pid $(cat "$STATE/server.pid"), log .prefect/server.log)..."
  fi
  local t0=$SECONDS
  until healthy; do
    if ! alive server; then
      echo "stack.sh: the server exited; last lines of .prefect/server.log:" >&2
      tail -n 20 "$STATE/server.log" >&2
      exit 1
    fi
    if (( SECONDS - t0 > 180 )); then
      echo "stack.sh: no healthy server after 180 s; see .prefect/server.log" >&2
      exit 1
    fi
    sleep 1
  done
  echo "server healthy at http://$HOST:$PORT after $(( SECONDS - t0 )) s"
}

pool_up() {
  if "$PREFECT" work-pool inspect "$POOL" >/dev/null 2>&1; then
    echo "work pool $POOL exists"
  else
    "$PREFECT" work-pool create "$POOL" --type process >/dev/null
    echo "work pool $POOL created"
  fi
}

deploy() {
  healthy || { echo "stack.sh: no server at $PREFECT_API_URL; run scripts/stack.sh up" >&2; exit 1; }
  local t0=$SECONDS
  "$PREFECT" --no-prompt deploy --all >"$STATE/deploy.log" 2>&1 || {
    echo "stack.sh: deploy failed; .prefect/deploy.log:" >&2
    tail -n 30 "$STATE/deploy.log" >&2
    exit 1
  }
  echo "deployed prefect.yaml in $(( SECONDS - t0 )) s: $(grep -c "successfully \(created\|updated\)" "$STATE/deploy.log" || true) deployments (log .prefect/deploy.log)"
}

worker_up() {
  if alive worker; then
    echo "worker running (pid $(cat "$STATE/worker.pid"))"
    return 0
  fi
  start_bg worker "$PREFECT" worker start --pool "$POOL" --name "medprep-$(hostname -s)" --type process
  echo "worker started (pid $(cat "$STATE/worker.pid"), log .prefect/worker.log)"
}

status() {
  for name in server worker; do
    if alive "$name"; then echo "$name: running (pid $(cat "$STATE/$name.pid"))"; else echo "$name: stopped"; fi
  done
  if healthy; then
    echo "API: $PREFECT_API_URL (UI: http://$HOST:$PORT)"
    "$PREFECT" deployment ls 2>/dev/null || true
  else
    echo "API: not answering at $PREFECT_API_URL"
  fi
}

case "${1:-}" in
  up)
    server_up
    pool_up
    deploy
    worker_up
    echo "UI: http://$HOST:$PORT   run: scripts/stack.sh run prepare/demo   (or in a shell: eval \"\$(scripts/stack.sh env)\"; prefect deployment run prepare/demo)"
    echo "schedules: the weekly refreshes are shipped paused; turn one on in the UI (deployment > Schedules)"
    ;;
  deploy) deploy ;;
  run)
    shift
    [ $# -ge 1 ] || { echo "usage: scripts/stack.sh run DEPLOYMENT [-p key=value ...] (e.g. prepare/demo)" >&2; exit 2; }
    healthy || { echo "stack.sh: no server at $PREFECT_API_URL; run scripts/stack.sh up" >&2; exit 1; }
    exec "$PREFECT" deployment run "$@"
    ;;
  status) status ;;
  down)
    stop worker
    stop server
    ;;
  env)
    echo "export PREFECT_HOME='$PREFECT_HOME' PREFECT_API_URL='$PREFECT_API_URL' DO_NOT_TRACK=1 PREFECT_LOCAL_STORAGE_PATH='$PREFECT_LOCAL_STORAGE_PATH'"
    ;;
  *)
    echo "usage: scripts/stack.sh up|deploy|status|run DEPLOYMENT|down|env" >&2
    exit 2
    ;;
esac
