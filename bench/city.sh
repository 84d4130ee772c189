#!/usr/bin/env bash
# bench/city.sh: the whole city on one machine, measured.
#
#   bench/city.sh [PEOPLE [ORGS [YEARS]]]
#
# Defaults: the full city, 22,000,000 people, 2,000,000 organisations, 5
# years at the default activity (about 97 M records; the disk needs room
# for it). It builds credo, then
#
#   1. generates the city and loads it into a new embedded registry
#      (credo generate --db: the policy, the links, then the records in
#      batches, with their notices; BULK=1 loads into the empty registry
#      with --bulk), timed, with the peak RSS;
#   2. measures the disk: bytes per record all-in (the registry file and
#      its write-ahead log; the check log is a file of its own, excluded),
#      and per table (sqlite3's dbstat, if sqlite3 is installed);
#   3. starts `credo serve` (portal on, the default) without a table
#      snapshot: a full re-evaluation of the city, then the census; time
#      to /readyz 200 and peak RSS, stopped with SIGINT (which saves the
#      snapshot);
#   4. starts it again, cold, from its snapshot: time to ready, peak RSS;
#   5. simulates a draft policy against the city (credo simulate), timed,
#      with the peak RSS.
#
# Every figure is printed as "figure: value" lines (the output to commit
# under bench/, e.g. bench/city-1m.txt). Environment: CITY_DIR (work
# directory, default a new one under /tmp, removed at the end unless
# KEEP=1), PORT (default 18080), POLICY (default policies/beijing.yaml),
# DRAFT (default policies/beijing-draft.yaml), END (default 2026-01-01),
# BULK (1: load with --bulk), SKIP_LOAD (1: measure the registry already
# loaded in CITY_DIR again, from step 2, with the current build).
set -euo pipefail

PEOPLE=${1:-22000000}
ORGS=${2:-$((PEOPLE / 11))}
YEARS=${3:-5}
[ "$PEOPLE" = 22000000 ] && [ -z "${2:-}" ] && ORGS=2000000
PORT=${PORT:-18080}
POLICY=${POLICY:-policies/beijing.yaml}
DRAFT=${DRAFT:-policies/beijing-draft.yaml}
END=${END:-2026-01-01}
BULK=${BULK:-0}

cd "$(dirname "$0")/.."
DIR=${CITY_DIR:-$(mktemp -d /tmp/credo-city.XXXXXX)}
mkdir -p "$DIR"
cleanup() {
	if [ -n "${SERVE_PID:-}" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
		local child
		child=$(cat "/proc/$SERVE_PID/task/$SERVE_PID/children" 2>/dev/null | awk '{print $1}')
		[ -n "$child" ] && kill -INT "$child" 2>/dev/null
		wait "$SERVE_PID" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" != 1 ] && [ -z "${CITY_DIR:-}" ]; then
		rm -rf "$DIR"
	fi
}
trap cleanup EXIT

say() { printf '%s: %s\n' "$1" "$2"; }
# rss_kb FILE: the peak resident set size /usr/bin/time -v wrote to FILE.
rss_kb() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f MiB", k / 1024}'; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f s", b - a}'; }

say "date" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "machine" "$(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
say "load average before" "$(cut -d' ' -f1-3 /proc/loadavg)"
say "commit" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (modified)')"
say "city" "$PEOPLE people, $ORGS organisations, $YEARS years to $END"

go build -o "$DIR/credo" ./cmd/credo
CREDO=$DIR/credo
DB=$DIR/city.db

# 1. Generate and load.
if [ "${SKIP_LOAD:-0}" = 1 ] && [ -e "$DB" ]; then
	say "load" "skipped (SKIP_LOAD=1): the registry loaded earlier in $DIR; that load's figures:"
	secs_=$(sed -n 's/.*"seconds": *\([0-9.]*\).*/\1/p' "$DIR/load.json" | head -1)
	say "load wall" "$(awk -v s="$secs_" 'BEGIN {printf "%.1f s", s}')"
	say "load rate" "$(sed -n 's/.*"records_per_second": *\([0-9.]*\).*/\1/p' "$DIR/load.json" | awk '{printf "%.0f records/s", $1}')"
	[ -e "$DIR/load.time" ] && say "load peak RSS" "$(mib "$(rss_kb "$DIR/load.time")")"
else
	bulk=()
	[ "$BULK" = 1 ] && bulk=(--bulk)
	t0=$(now)
	/usr/bin/time -v -o "$DIR/load.time" "$CREDO" generate --policy "$POLICY" --people "$PEOPLE" --orgs "$ORGS" \
		--years "$YEARS" --end "$END" --db "$DB" --json -q "${bulk[@]}" >"$DIR/load.json"
	t1=$(now)
	say "load mode" "$([ "$BULK" = 1 ] && echo 'bulk (--bulk, empty registry)' || echo 'batches of 10,000 through the registry (validation, notices)')"
	say "load wall" "$(secs "$t0" "$t1")"
	say "load rate" "$(awk -v n="$(sed -n 's/.*"records": *\([0-9]*\).*/\1/p' "$DIR/load.json" | head -1)" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f records/s", n / (b - a)}')"
	say "load peak RSS" "$(mib "$(rss_kb "$DIR/load.time")")"
fi
records=$(sed -n 's/.*"records": *\([0-9]*\).*/\1/p' "$DIR/load.json" | head -1)
links=$(sed -n 's/.*"links": *\([0-9]*\).*/\1/p' "$DIR/load.json" | head -1)
say "records" "$records (and $links links)"

# 2. Disk.
events=$(sqlite3 "$DB" "SELECT max(seq) FROM events" 2>/dev/null || echo "?")
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null 2>&1 || true
wal=0
[ -e "$DB-wal" ] && wal=$(stat -c %s "$DB-wal")
bytes=$(($(stat -c %s "$DB") + wal))
say "events" "$events"
say "disk" "$bytes bytes ($(awk -v b="$bytes" 'BEGIN {printf "%.1f MiB", b / 1048576}'))"
say "disk per record" "$(awk -v b="$bytes" -v n="$records" 'BEGIN {printf "%.0f bytes/record", b / n}')"
if sqlite3 "$DB" "SELECT 1 FROM dbstat LIMIT 1" >/dev/null 2>&1; then
	sqlite3 -separator ' ' "$DB" "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 14" |
		while read -r name size; do
			say "disk table $name" "$(awk -v s="$size" -v n="$records" 'BEGIN {printf "%.1f MiB, %.0f bytes/record", s / 1048576, s / n}')"
		done
fi

# serve_until_ready NAME: starts credo serve, waits for /readyz 200, prints
# the time to ready and the peak RSS at ready, stops it with SIGINT.
serve_until_ready() {
	local name=$1
	local t0 t1 code pid hwm
	t0=$(now)
	/usr/bin/time -v -o "$DIR/$name.time" "$CREDO" serve --db "$DB" --addr "127.0.0.1:$PORT" \
		--scrub-interval 0 2>"$DIR/$name.log" >/dev/null &
	SERVE_PID=$!
	code=000
	while [ "$code" != 200 ]; do
		if ! kill -0 "$SERVE_PID" 2>/dev/null; then
			echo "credo serve exited; its log:" >&2
			tail -20 "$DIR/$name.log" >&2
			exit 1
		fi
		sleep 0.2
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" || true)
	done
	t1=$(now)
	pid=$(cat "/proc/$SERVE_PID/task/$SERVE_PID/children" 2>/dev/null | awk '{print $1}')
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
	say "$name: time to ready" "$(secs "$t0" "$t1")"
	say "$name: peak RSS at ready" "$(mib "$hwm")"
	# slog writes a duration as nanoseconds, or as text where the caller
	# formatted it.
	took() {
		grep "\"msg\":\"$1" "$DIR/$name.log" | sed -n 's/.*"took":"\{0,1\}\([^",}]*\).*/\1/p' |
			awk '/^[0-9]+$/ {printf "%.1fs\n", $1 / 1e9; next} {print}'
	}
	for t in $(took "decision table built"); do say "$name: decision table built (full re-evaluation) in" "$t"; done
	for t in $(took "decision table loaded"); do say "$name: decision table loaded from its snapshot in" "$t"; done
	for t in $(took "starting: census built"); do say "$name: census built in" "$t"; done
	for t in $(took "census state loaded"); do say "$name: census state loaded in" "$t"; done
	kill -INT "$pid" # /usr/bin/time ignores SIGINT: the server's own
	wait "$SERVE_PID" || true
	SERVE_PID=
	say "$name: peak RSS over the run" "$(mib "$(rss_kb "$DIR/$name.time")")"
}

# 3. Serve without a snapshot: a full re-evaluation and the census.
rm -f "$DB.table" "$DB.table.census"
serve_until_ready "serve without snapshot"
# 4. Serve cold from the snapshots the first run saved (the table's, and
# the census state's).
serve_until_ready "serve from snapshot"

# 5. Simulate a draft.
t0=$(now)
/usr/bin/time -v -o "$DIR/sim.time" "$CREDO" simulate --db "$DB" --policy "$DRAFT" --json >"$DIR/sim.json" 2>"$DIR/sim.log"
t1=$(now)
say "simulation wall" "$(secs "$t0" "$t1")"
say "simulation peak RSS" "$(mib "$(rss_kb "$DIR/sim.time")")"
say "load average after" "$(cut -d' ' -f1-3 /proc/loadavg)"
