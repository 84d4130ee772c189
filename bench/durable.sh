#!/usr/bin/env bash
# The cost of durable checks, in one run: POST /v1/checks on 127.0.0.1 with
# wrk (apt-get install wrk) against `credo serve` (a check answered once its
# log entry is committed, the default) and `credo serve --check-log-async`
# (answered first, logged within 50 ms: the behaviour before), alternated,
# at 32 and 128 connections. Every run starts from an empty check log.
#
#   bench/durable.sh [PEOPLE] [DURATION] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
people=${1:-50000}
dur=${2:-8s}
runs=${3:-3}
out=bench-out
mkdir -p "$out"
go build -o "$out/credo" ./cmd/credo
db="$out/city-$people.db"
if [ ! -f "$db" ]; then
  "$out/credo" demo --db "$db" --people "$people" --orgs $((people / 20)) --activity 0.1 --no-serve \
    --sample-subjects "$out/sample-$people.txt" --sample-size 20000 >/dev/null
fi
tok=$("$out/credo" token create --db "$db" --role checker --sector aviation --name "load test" 2>/dev/null)
export SAMPLE="$out/sample-$people.txt" TOKEN="$tok" SECTOR=aviation
: >"$out/durable.txt"
one() { # label [serve flags]
  rm -f "$db.checks" "$db.checks-wal" "$db.checks-shm"
  "$out/credo" serve --db "$db" --addr 127.0.0.1:18190 --rate-limit -1 --no-portal ${2:-} 2>"$out/serve.log" &
  local pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18190/readyz >/dev/null && break; sleep 0.2; done
  for c in 32 128; do
    echo "$1 c=$c $(wrk -t1 -c$c -d"$dur" -s bench/check.lua http://127.0.0.1:18190 | grep RESULT)" | tee -a "$out/durable.txt"
  done
  kill -TERM $pid; wait $pid || true
}
for _ in $(seq "$runs"); do one durable; one async --check-log-async; done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for m in durable async; do
  for c in 32 128; do
    rows=$(grep "^$m c=$c " "$out/durable.txt")
    echo "$m c=$c median rps: $(sed 's/.*rps=\([0-9]*\).*/\1/' <<<"$rows" | median)" \
      " p50_ms: $(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$rows" | median)" \
      " p99_ms: $(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$rows" | median)"
  done
done
