#!/usr/bin/env bash
# Load benchmark of POST /v1/checks on 127.0.0.1 with wrk (apt-get install wrk):
# the decision table against the naive baseline (each check answered from the
# store) and against the floor (an empty handler, bench/httpfloor: the most
# a Go server answers here with wrk beside it), and batch checks of 500
# subjects, in one run.
#
#   bench/load.sh [PEOPLE] [DURATION] [RUNS]
#
# Builds (once) a demo city of PEOPLE people (default 1,000,000) under
# bench-out/, serves it, and prints the median of RUNS runs per row.
set -euo pipefail
cd "$(dirname "$0")/.."
people=${1:-1000000}
dur=${2:-10s}
runs=${3:-3}
out=bench-out
mkdir -p "$out"
go build -o "$out/credo" ./cmd/credo
db="$out/city-$people.db"
if [ ! -f "$db" ]; then
  "$out/credo" demo --db "$db" --people "$people" --orgs $((people / 20)) --activity 0.1 --no-serve \
    --sample-subjects "$out/sample-$people.txt" --sample-size 20000 >/dev/null
fi
# Every run starts from an empty check log, so that runs compare: the log
# grows by a million checks a minute under this load, and its random index
# inserts slow down as it grows (sqlite.BenchmarkLogChecks: empty and grown).
rm -f "$db.checks" "$db.checks-wal" "$db.checks-shm"
tok=$("$out/credo" token create --db "$db" --role checker --sector aviation --name "load test" 2>/dev/null)
export SAMPLE="$out/sample-$people.txt" TOKEN="$tok" SECTOR=aviation

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # name, server flags..., then -- wrk args
  local name=$1; shift
  local flags=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done; shift
  "$out/credo" serve --db "$db" --addr 127.0.0.1:18090 --rate-limit -1 "${flags[@]}" 2>"$out/serve.log" &
  local pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18090/readyz >/dev/null && break; sleep 0.2; done
  # The census (statistics, dashboard) is built in the background after
  # start: wait for it, so that the runs measure checks alone.
  for _ in $(seq 600); do grep -q '"census built"\|"census not built"' "$out/serve.log" && break; sleep 0.5; done
  : >"$out/$name.txt"
  for _ in $(seq "$runs"); do wrk "$@" http://127.0.0.1:18090 | grep RESULT >>"$out/$name.txt"; done
  kill -TERM $pid; wait $pid || true
  echo "$name: $(cat "$out/$name.txt" | tr '\n' ' ')"
}
# The floor: an empty net/http handler (bench/httpfloor) under the same load.
go build -o "$out/httpfloor" ./bench/httpfloor
"$out/httpfloor" -addr 127.0.0.1:18099 &
floor=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18099/ && break; sleep 0.1; done
: >"$out/floor.txt"
for _ in $(seq "$runs"); do wrk -t1 -c32 -d"$dur" -s bench/check.lua http://127.0.0.1:18099 | grep RESULT >>"$out/floor.txt"; done
kill $floor; wait $floor 2>/dev/null || true
echo "floor: $(cat "$out/floor.txt" | tr '\n' ' ')"
run table -- -t1 -c32 -d"$dur" -s bench/check.lua
run naive --naive-checks -- -t1 -c32 -d"$dur" -s bench/check.lua
run batch500 -- -t1 -c4 -d"$dur" -s bench/batch.lua
for n in floor table naive; do
  echo "$n median rps: $(sed 's/.*rps=\([0-9]*\).*/\1/' "$out/$n.txt" | median)  p99_ms: $(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' "$out/$n.txt" | median)"
done
echo "batch500 median checks/s: $(sed 's/.*checks_per_s=\([0-9]*\).*/\1/' "$out/batch500.txt" | median)"
