#!/usr/bin/env bash
# Scale-out benchmark: POST /v1/checks against one `credo serve` node and
# against two nodes over the same PostgreSQL database (each tailing the
# log), with wrk, in one run. Two nodes are loaded by two wrk processes at
# once (half the connections each); their rates are summed per run.
#
#   PG=postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable bench/twonodes.sh [PEOPLE] [DURATION] [RUNS]
#
# Creates a database credo_bench_twonodes on the server of $PG (dropped and
# recreated), ingests a synthetic city of PEOPLE people, and prints the
# median of RUNS runs per setup and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PG:?set PG to a postgres:// URL of a user that may create databases}"
people=${1:-20000}
dur=${2:-10s}
runs=${3:-3}
conns=${CONNS:-32}
out=bench-out
mkdir -p "$out"
go build -o "$out/credo" ./cmd/credo
psql=${PSQL:-psql}
command -v "$psql" >/dev/null || psql=/usr/lib/postgresql/15/bin/psql
"$psql" "$PG" -qc "DROP DATABASE IF EXISTS credo_bench_twonodes WITH (FORCE)" -c "CREATE DATABASE credo_bench_twonodes" >/dev/null
db=$(echo "$PG" | sed 's#/[^/?]*\(?\|$\)#/credo_bench_twonodes\1#')
export CREDO_POSTGRES="$db"
"$out/credo" init --policy policies/beijing.yaml >/dev/null 2>&1
"$out/credo" generate --policy policies/beijing.yaml --people "$people" --orgs $((people / 20)) --out "$out/twonodes.ndjson" >/dev/null
"$out/credo" ingest -q "$out/twonodes.ndjson" >/dev/null
sed -n 's/.*"subject":"\([^"]*\)".*/\1/p' "$out/twonodes.ndjson" | sort -u | head -20000 >"$out/twonodes-sample.txt"
tok=$("$out/credo" token create --role checker --sector aviation --name "load test" 2>/dev/null)
export SAMPLE="$out/twonodes-sample.txt" TOKEN="$tok" SECTOR=aviation

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
start() { # port
  "$out/credo" serve --addr 127.0.0.1:$1 --rate-limit -1 2>"$out/serve-$1.log" &
  echo $! >"$out/serve-$1.pid"
  for _ in $(seq 300); do curl -sf http://127.0.0.1:$1/readyz >/dev/null && return; sleep 0.2; done
  echo "node on $1 never became ready" >&2; exit 1
}
stop() { local pid; pid=$(cat "$out/serve-$1.pid"); kill -TERM "$pid"; wait "$pid" || true; }
rps() { sed -n 's/.*rps=\([0-9]*\).*/\1/p'; }

start 18091
: >"$out/one.txt"
for _ in $(seq "$runs"); do
  wrk -t1 -c"$conns" -d"$dur" -s bench/check.lua http://127.0.0.1:18091 | rps >>"$out/one.txt"
done
start 18092
: >"$out/two.txt"
for _ in $(seq "$runs"); do
  wrk -t1 -c$((conns / 2)) -d"$dur" -s bench/check.lua http://127.0.0.1:18091 | rps >"$out/two-a.txt" &
  other=$!
  wrk -t1 -c$((conns / 2)) -d"$dur" -s bench/check.lua http://127.0.0.1:18092 | rps >"$out/two-b.txt"
  wait "$other"
  echo $(($(cat "$out/two-a.txt") + $(cat "$out/two-b.txt"))) >>"$out/two.txt"
done
stop 18091
stop 18092
one=$(median <"$out/one.txt")
two=$(median <"$out/two.txt")
echo "one node:  $(tr '\n' ' ' <"$out/one.txt")-> median $one checks/s"
echo "two nodes: $(tr '\n' ' ' <"$out/two.txt")-> median $two checks/s"
echo "ratio two/one: $(awk -v a="$two" -v b="$one" 'BEGIN {printf "%.2f", a / b}')  (cores: $(nproc))"
