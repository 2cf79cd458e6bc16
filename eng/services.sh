#!/usr/bin/env bash
# Starts and stops the servers MSaaS talks to, on 127.0.0.1 only, for development and tests:
#   s3     an S3 server (s3rver from npm, pinned by eng/s3rver/package-lock.json; MinIO is in no registry here)
#   redis  Redis (Debian's redis-server), append-only so a restart keeps the sagas
#   rabbitmq  RabbitMQ (Debian's rabbitmq-server), its own node on 127.0.0.1 (about 20 s to start)
# Usage: eng/services.sh up|down|status|env
# State (data, logs, pids) lives in $MSAAS_SERVICES_DIR (default: ~/.cache/msaas/services).
# `env` prints the variables the tests read (named so that no MSAAS_<Section> setting is among them): MSAAS_S3_ENDPOINT,
# MSAAS_S3_ACCESS_KEY, MSAAS_S3_SECRET_KEY, MSAAS_REDIS_ENDPOINT,
# MSAAS_RABBITMQ_PORT. `profile` prints the MSAAS_* settings that point `msaas run ...` at these servers.
# `up` starts all three; `up s3 redis` only those; `restart redis` for fault tests.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache="${MSAAS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/msaas}"
state="${MSAAS_SERVICES_DIR:-$cache/services}"
S3_PORT="${MSAAS_S3_PORT:-9000}"
REDIS_PORT="${MSAAS_REDIS_PORT:-6379}"
RABBIT_PORT="${MSAAS_RABBITMQ_PORT:-5672}"
EPMD_PORT="${MSAAS_EPMD_PORT:-$((RABBIT_PORT + 21000))}"
say() { printf 'services: %s\n' "$*" >&2; }

running() { [ -f "$state/$1.pid" ] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

wait_port() { # name port seconds
  for _ in $(seq 1 $((${3} * 10))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    running "$1" || break
    sleep 0.1
  done
  say "$1 did not come up on 127.0.0.1:$2; its log:"; tail -20 "$state/$1.log" >&2 || true
  return 1
}

s3_install() {
  local dir="$cache/s3rver"
  if [ -x "$dir/node_modules/.bin/s3rver" ] && cmp -s "$root/eng/s3rver/package-lock.json" "$dir/package-lock.json"; then return 0; fi
  command -v npm >/dev/null || { say "npm is needed for the S3 test server"; exit 1; }
  say "installing s3rver (npm ci, integrity-checked)"
  mkdir -p "$dir"
  cp "$root/eng/s3rver/package.json" "$root/eng/s3rver/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null 2>"$dir/npm.log") || { cat "$dir/npm.log" >&2; exit 1; }
}

s3_up() {
  running s3 && return 0
  s3_install
  mkdir -p "$state/s3-data"
  # The buckets of the existing deployments: uploads in `queue`, stems in `output`.
  setsid node "$cache/s3rver/node_modules/.bin/s3rver" -d "$state/s3-data" -a 127.0.0.1 -p "$S3_PORT" --silent \
    --configure-bucket queue --configure-bucket output >"$state/s3.log" 2>&1 < /dev/null &
  echo $! >"$state/s3.pid"
  wait_port s3 "$S3_PORT" 30
  say "s3 up on 127.0.0.1:$S3_PORT"
}

redis_up() {
  running redis && return 0
  if ! command -v redis-server >/dev/null; then
    say "installing redis-server (Debian package)"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  fi
  mkdir -p "$state/redis-data"
  setsid redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$state/redis-data" --appendonly yes --save "" \
    --protected-mode yes >"$state/redis.log" 2>&1 < /dev/null &
  echo $! >"$state/redis.pid"
  wait_port redis "$REDIS_PORT" 20
  say "redis up on 127.0.0.1:$REDIS_PORT"
}

rabbitmq_up() {
  running rabbitmq && return 0
  if ! command -v rabbitmq-server >/dev/null && [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    say "installing rabbitmq-server (Debian package)"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
  fi
  epmd_up
  local base="$state/rabbitmq"
  mkdir -p "$base/mnesia" "$base/log"
  : > "$base/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$base" 2>/dev/null || true
  # Its own node, on loopback only, with every file under the state directory (the Debian service stays off).
  ( export RABBITMQ_NODENAME="msaas@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RABBIT_PORT" \
      RABBITMQ_DIST_PORT=$((RABBIT_PORT + 20000)) ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$EPMD_PORT" \
      RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log" \
      RABBITMQ_FEATURE_FLAGS_FILE="$base/feature_flags" RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" \
      RABBITMQ_PID_FILE="$base/pid" HOME="$base"
    setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$state/rabbitmq.log" 2>&1 < /dev/null & echo $! >"$state/rabbitmq.pid" )
  wait_port rabbitmq "$RABBIT_PORT" 60
  say "rabbitmq up on 127.0.0.1:$RABBIT_PORT"
}

# Erlang's port mapper, which RabbitMQ needs: our own, on its own port, started (and so stopped) by this script
# alone. Left to RabbitMQ, it would start a detached one that outlives the node and that only a search by name finds.
epmd_up() {
  running epmd && return 0
  local epmd; epmd=$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1)
  [ -n "$epmd" ] || { say "epmd (Erlang) is missing: apt-get install erlang-base"; exit 1; }
  setsid "$epmd" -address 127.0.0.1 -port "$EPMD_PORT" >"$state/epmd.log" 2>&1 < /dev/null &
  echo $! >"$state/epmd.pid"
  wait_port epmd "$EPMD_PORT" 10
}

stop() {
  if running "$1"; then
    # Each server was started in a session of its own: stop its whole process group (RabbitMQ's Erlang VM too).
    local pid; pid=$(cat "$state/$1.pid")
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do running "$1" || break; sleep 0.1; done
    running "$1" && kill -9 -- "-$pid" 2>/dev/null || true
    say "$1 stopped"
  fi
  rm -f "$state/$1.pid"
}

mkdir -p "$state"
case "${1:-status}" in
  up)
    shift || true
    for s in "${@:-s3 redis rabbitmq}"; do for one in $s; do "${one}_up"; done; done ;;
  restart)
    shift
    for s in "$@"; do stop "$s"; "${s}_up"; done ;;
  down)
    stop s3; stop redis; stop rabbitmq; stop epmd
    rm -rf "$state/s3-data" "$state/redis-data" "$state/rabbitmq" ;;
  status)
    for s in s3 redis rabbitmq; do
      if running $s; then echo "$s: up (pid $(cat "$state/$s.pid"))"; else echo "$s: down"; fi
    done ;;
  env)
    echo "export MSAAS_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
    echo "export MSAAS_S3_ACCESS_KEY=S3RVER MSAAS_S3_SECRET_KEY=S3RVER"
    echo "export MSAAS_REDIS_ENDPOINT=127.0.0.1:$REDIS_PORT"
    echo "export MSAAS_RABBITMQ_PORT=$RABBIT_PORT" ;;
  profile)
    # The distributed profile's settings for `msaas run ...` against these servers.
    echo "export MSAAS_Bus__Transport=rabbitmq MSAAS_RabbitMq__Host=127.0.0.1 MSAAS_RabbitMq__Port=$RABBIT_PORT"
    echo "export MSAAS_Redis__Configuration=127.0.0.1:$REDIS_PORT"
    echo "export MSAAS_Storage__Kind=s3 MSAAS_Storage__S3__Endpoint=http://127.0.0.1:$S3_PORT MSAAS_Storage__S3__AccessKey=S3RVER MSAAS_Storage__S3__SecretKey=S3RVER" ;;
  *) echo "usage: $0 up [names]|down|status|env|profile|restart names" >&2; exit 2 ;;
esac
