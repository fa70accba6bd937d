#!/usr/bin/env bash
# Starts the local PostgreSQL server and Redis when installed but not running, so `make test` works
# on a machine where they exist. Without PostgreSQL the postgres tests skip, without Redis the RQ
# worker tests skip (both fail under CI=true).
set -u

# -- Redis (RQ worker tests, shared rate limiter) --
redis_up() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
if ! redis_up && command -v redis-server >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null 2>&1 || true
  for _ in $(seq 1 20); do
    redis_up && break
    sleep 0.25
  done
fi
redis_up || echo "note: no Redis on 127.0.0.1:6379; the RQ worker tests will skip (fail under CI=true)." >&2
# -- end of Redis --

if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  done
  for _ in $(seq 1 20); do
    pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
    sleep 0.5
  done
fi
echo "note: no PostgreSQL server on 127.0.0.1:5432; the postgres tests will skip (fail under CI=true)." >&2
exit 0
