#!/usr/bin/env bash
# Start PostgreSQL and MariaDB on their standard loopback ports when they are not running.
set -euo pipefail
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432; then
  if ! command -v pg_ctlcluster >/dev/null; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql
  fi
  version=$(ls /etc/postgresql | sort -n | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
if ! up 3306; then
  if ! command -v mariadbd >/dev/null; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends mariadb-server
  fi
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
fi
for port in 5432 3306; do
  for _ in $(seq 1 60); do up "$port" && break; sleep 0.5; done
  up "$port" || { echo "service on port $port did not start" >&2; exit 1; }
done
