#!/usr/bin/env bash
# The test command: go test -race against a real Redis. Uses $REDIS_URL when set,
# otherwise starts a throwaway redis-server on a free loopback port and stops it after.
# Extra arguments go to `go test` (default: ./...).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${REDIS_URL:-}" ]; then
  command -v redis-server >/dev/null || { echo "redis-server not found: install it (apt-get install redis-server) or set REDIS_URL" >&2; exit 1; }
  dir=$(mktemp -d)
  pid=""
  cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
  trap cleanup EXIT
  for _ in $(seq 1 20); do
    port=$(( (RANDOM % 20000) + 30000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue # taken
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
      --protected-mode no >"$dir/redis.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 50); do
      if redis-cli -p "$port" ping >/dev/null 2>&1; then break; fi
      sleep 0.1
    done
    if redis-cli -p "$port" ping >/dev/null 2>&1; then
      export REDIS_URL="redis://127.0.0.1:$port/0"
      break
    fi
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""
  done
  [ -n "${REDIS_URL:-}" ] || { echo "could not start redis-server" >&2; cat "$dir/redis.log" >&2; exit 1; }
  echo "test redis: $REDIS_URL (throwaway)"
fi

[ $# -gt 0 ] || set -- ./...
go test -race -count=1 -timeout 8m "$@"
