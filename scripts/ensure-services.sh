#!/usr/bin/env bash
# Starts the local PostgreSQL server when it is installed but not running, so `make test` works on a
# machine where the server exists. Without PostgreSQL the postgres tests skip (or fail under CI=true).
set -u
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
