#!/usr/bin/env bash
# Services outage run, for .ci/run AFTER the test suites (it stops the shared PostgreSQL and
# Redis for a few seconds each): two server processes on PostgreSQL + Redis under a vote
# storm; Redis is stopped and started, then PostgreSQL. Fails if an acknowledged write is
# lost, the event log has a hole, writes are not acknowledged again after an outage, or a
# websocket client does not end at the server's seq. Prints one JSON summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to the PostgreSQL server}"
: "${REDIS_URL:?set REDIS_URL to the Redis server}"

PG_VERSION="${PG_VERSION:-$(ls /etc/postgresql | sort -V | tail -1)}"
REDIS_START="redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"

echo "== services faults: Redis, then PostgreSQL ${PG_VERSION}, stopped under a vote storm"
.venv/bin/python -m tests.robustness.faultkit outage \
  --voters "${FAULT_VOTERS:-30}" --writes "${FAULT_WRITES:-20}" --down-seconds "${FAULT_DOWN_SECONDS:-3}" \
  --redis-stop "redis-cli -h 127.0.0.1 -p 6379 shutdown nosave" \
  --redis-start "${REDIS_START}" \
  --pg-stop "pg_ctlcluster --skip-systemctl-redirect ${PG_VERSION} main stop" \
  --pg-start "pg_ctlcluster --skip-systemctl-redirect ${PG_VERSION} main start"
