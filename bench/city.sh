#!/usr/bin/env bash
# bench/city.sh: the whole city on one machine, measured.
#
#   bench/city.sh [PEOPLE [ORGS [YEARS]]]
#
# Defaults: the full city, 22,000,000 people, 2,000,000 organisations, 5
# years at the default activity (about 97 M records; the disk needs room
# for it). It builds credo, then
#
#   0. loads a city 1/1000 the size (at least 20,000 people) the same way,
#      and from its bytes per record says whether the city fits on the disk
#      (it stops with exit status 3 if not, unless FORCE=1);
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
#      with the peak RSS;
#   6. publishes a version that changes one rule's points and starts
#      `credo serve` from the snapshot again: the incremental re-evaluation;
#   7. files a city a fiftieth the size (another seed) into the loaded
#      registry in batches (credo ingest): the incremental filing rate.
#
# A step that fails is said so ("failed: ...") and the next one runs.
#
# Every figure is printed as "figure: value" lines (the output to commit
# under bench/, e.g. bench/city-1m.txt). Environment: CITY_DIR (work
# directory, default a new one under /tmp, removed at the end unless
# KEEP=1), PORT (default 18080), POLICY (default policies/beijing.yaml),
# DRAFT (default policies/beijing-draft.yaml), END (default 2026-01-01),
# BULK (1, the default: load into the empty registry with --bulk; 0: in
# batches through the registry), FORCE (1: load even if the calibration
# says the city does not fit on the disk), SKIP_LOAD (1: measure the registry already
# loaded in CITY_DIR again, from step 2, with the current build), RUNS_DIR
# (a directory on another disk, or in memory such as /dev/shm, for the bulk
# load's run files and SQLite's sort files, which then do not count against
# the registry's disk; the load removes them when it ends).
set -euo pipefail

PEOPLE=${1:-22000000}
ORGS=${2:-$((PEOPLE / 11))}
YEARS=${3:-5}
[ "$PEOPLE" = 22000000 ] && [ -z "${2:-}" ] && ORGS=2000000
PORT=${PORT:-18080}
POLICY=${POLICY:-policies/beijing.yaml}
DRAFT=${DRAFT:-policies/beijing-draft.yaml}
END=${END:-2026-01-01}
BULK=${BULK:-1}

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

# 0. Will it fit? A small city of the same shape (PEOPLE/1000, at least
# 20,000 people) is loaded the same way; its bytes per record, all-in, times
# the records the full one will have (the small city's records per person)
# is the disk the load needs, against what the work directory's disk has
# free. A city that does not fit is not started (FORCE=1 starts it anyway):
# the figures say by how much.
if [ "${SKIP_LOAD:-0}" != 1 ]; then
	cal_people=$((PEOPLE / 1000))
	[ "$cal_people" -lt 20000 ] && cal_people=20000
	if [ "$cal_people" -lt "$PEOPLE" ]; then
		cal_orgs=$((cal_people * ORGS / PEOPLE))
		bulk=()
		[ "$BULK" = 1 ] && bulk=(--bulk)
		rm -f "$DIR/cal.db" "$DIR/cal.db-wal" "$DIR/cal.db-shm" "$DIR/cal.db.keys"
		"$CREDO" generate --policy "$POLICY" --people "$cal_people" --orgs "$cal_orgs" --years "$YEARS" \
			--end "$END" --db "$DIR/cal.db" --json -q "${bulk[@]}" >"$DIR/cal.json" 2>/dev/null
		cal_records=$(sed -n 's/.*"records": *\([0-9]*\).*/\1/p' "$DIR/cal.json" | head -1)
		sqlite3 "$DIR/cal.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null 2>&1 || true
		cal_bytes=$(($(stat -c %s "$DIR/cal.db") + $( [ -e "$DIR/cal.db-wal" ] && stat -c %s "$DIR/cal.db-wal" || echo 0)))
		# A bulk load keeps its records' rows keyed by subject in sorted run
		# files beside the database (past 256 MiB in memory) until its end
		# merges them into their tables: at that end the runs and the whole
		# registry exist at once. A run row is a record's subject, sequence
		# number and fact, about what a row of the facts table takes (the
		# 5 M-person city: runs of 1.8 GB for a facts table of 2.3 GB).
		cal_staged=0
		if [ "$BULK" = 1 ] && [ -z "${RUNS_DIR:-}" ]; then
			cal_staged=$(sqlite3 "$DIR/cal.db" "SELECT COALESCE(sum(pgsize), 0) FROM dbstat WHERE name = 'facts'" 2>/dev/null || echo 0)
		fi
		rm -f "$DIR/cal.db" "$DIR/cal.db-wal" "$DIR/cal.db-shm" "$DIR/cal.db.keys"
		expect=$(awk -v r="$cal_records" -v p="$cal_people" -v n="$PEOPLE" 'BEGIN {printf "%.0f", r / p * n}')
		per=$(awk -v b="$cal_bytes" -v r="$cal_records" 'BEGIN {printf "%.0f", b / r}')
		rest=$(awk -v per="$per" -v e="$expect" 'BEGIN {printf "%.0f", per * e * 1.1}') # +10 %: the WAL, the snapshots
		peak=$(awk -v b="$cal_bytes" -v st="$cal_staged" -v r="$cal_records" -v e="$expect" 'BEGIN {printf "%.0f", (b + st) / r * e}')
		need=$rest
		[ "$peak" -gt "$need" ] && need=$peak
		free=$(($(df -Pk "$DIR" | awk 'NR == 2 {print $4}') * 1024))
		gb() { awk -v b="$1" 'BEGIN {printf "%.1f GB", b / 1e9}'; }
		say "calibration" "$cal_people people: $cal_records records, $per bytes/record all-in"
		say "expected records" "$expect"
		say "disk needed at rest (expected records x bytes/record + 10 %)" "$(gb "$rest")"
		[ "$BULK" = 1 ] && say "disk needed at the end of the bulk load (the registry and its run files)" "$(gb "$peak")"
		say "disk free" "$(gb "$free")"
		if [ "$need" -gt "$free" ] && [ "${FORCE:-0}" != 1 ]; then
			say "result" "not run: the city does not fit on this disk ($(gb "$need") needed, $(gb "$free") free; at most $(awk -v f="$free" -v e="$expect" 'BEGIN {printf "%.0f", f / 1.1 / e}') bytes/record would fit)"
			exit 3
		fi
	fi
fi

# 1. Generate and load.
if [ "${SKIP_LOAD:-0}" = 1 ] && [ -e "$DB" ]; then
	say "load" "skipped (SKIP_LOAD=1): the registry loaded earlier in CITY_DIR; that load's figures:"
	secs_=$(sed -n 's/.*"seconds": *\([0-9.]*\).*/\1/p' "$DIR/load.json" | head -1)
	say "load wall" "$(awk -v s="$secs_" 'BEGIN {printf "%.1f s", s}')"
	say "load rate" "$(sed -n 's/.*"records_per_second": *\([0-9.]*\).*/\1/p' "$DIR/load.json" | awk '{printf "%.0f records/s", $1}')"
	[ -e "$DIR/load.time" ] && say "load peak RSS" "$(mib "$(rss_kb "$DIR/load.time")")"
else
	bulk=()
	[ "$BULK" = 1 ] && bulk=(--bulk)
	if [ -n "${RUNS_DIR:-}" ]; then
		# The registry keeps its run files under CREDO_BULK_DIR
		# (sqlite.Options.BulkDir) and removes them when the load ends.
		export CREDO_BULK_DIR=$RUNS_DIR SQLITE_TMPDIR=$RUNS_DIR
		say "run files" "in RUNS_DIR ($(df -P "$RUNS_DIR" | awk 'NR == 2 {print $1}'), not the registry's disk)"
	fi
	# The disk the load takes at its peak (the work directory, and RUNS_DIR),
	# sampled every 10 s.
	(
		peak_dir=0 peak_runs=0
		while :; do
			d=$(du -sb "$DIR" 2>/dev/null | awk '{print $1}')
			[ "${d:-0}" -gt "$peak_dir" ] && peak_dir=$d
			if [ -n "${RUNS_DIR:-}" ]; then
				r=$(du -sb "$RUNS_DIR" 2>/dev/null | awk '{print $1}')
				[ "${r:-0}" -gt "$peak_runs" ] && peak_runs=$r
			fi
			echo "$peak_dir $peak_runs" >"$DIR/load.disk"
			sleep 10
		done
	) &
	SAMPLER=$!
	t0=$(now)
	if ! /usr/bin/time -v -o "$DIR/load.time" "$CREDO" generate --policy "$POLICY" --people "$PEOPLE" --orgs "$ORGS" \
		--years "$YEARS" --end "$END" --db "$DB" --json -q "${bulk[@]}" >"$DIR/load.json" 2>"$DIR/load.log"; then
		kill "$SAMPLER" 2>/dev/null || true
		say "load" "failed: $(grep -v '^keys: created' "$DIR/load.log" | tail -1 | cut -c1-200)"
		exit 1
	fi
	t1=$(now)
	say "load mode" "$([ "$BULK" = 1 ] && echo 'bulk (--bulk, empty registry)' || echo 'batches of 10,000 through the registry (validation, notices)')"
	say "load wall" "$(secs "$t0" "$t1")"
	say "load rate" "$(awk -v n="$(sed -n 's/.*"records": *\([0-9]*\).*/\1/p' "$DIR/load.json" | head -1)" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f records/s", n / (b - a)}')"
	say "load peak RSS" "$(mib "$(rss_kb "$DIR/load.time")")"
	kill "$SAMPLER" 2>/dev/null || true
	read -r peak_dir peak_runs <"$DIR/load.disk"
	say "load peak disk (sampled every 10 s)" "$(awk -v b="$peak_dir" 'BEGIN {printf "%.2f GB", b / 1e9}') in the work directory$([ -n "${RUNS_DIR:-}" ] && awk -v b="$peak_runs" 'BEGIN {printf ", %.2f GB in RUNS_DIR", b / 1e9}')"
	if [ -n "${RUNS_DIR:-}" ]; then
		say "run files left in RUNS_DIR" "$(find "$RUNS_DIR" -maxdepth 1 -name 'city.db.bulk' | wc -l)"
		unset CREDO_BULK_DIR SQLITE_TMPDIR
	fi
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
			say "$name" "failed: credo serve exited before it was ready ($(tail -1 "$DIR/$name.log" | cut -c1-200))"
			[ -e "$DIR/$name.time" ] && say "$name: peak RSS over the run" "$(mib "$(rss_kb "$DIR/$name.time")")"
			SERVE_PID=
			return 1
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
	for t in $(took "decision table re-evaluated incrementally"); do say "$name: decision table re-evaluated incrementally in" "$t"; done
	grep -o '"reevaluated":[0-9]*,"carried_over":[0-9]*' "$DIR/$name.log" | head -1 | tr -dc '0-9,\n' |
		awk -F, -v n="$name" 'NF == 2 {printf "%s: subjects re-evaluated: %s, carried over: %s\n", n, $1, $2}' || true
	kill -INT "$pid" # /usr/bin/time ignores SIGINT: the server's own
	wait "$SERVE_PID" || true
	SERVE_PID=
	say "$name: peak RSS over the run" "$(mib "$(rss_kb "$DIR/$name.time")")"
}

# 3. Serve without a snapshot: a full re-evaluation and the census.
rm -f "$DB.table" "$DB.table.census"
# A step that fails is said so and the next one runs: a full-size run
# records what it could measure.
serve_until_ready "serve without snapshot" || true
# 4. Serve cold from the snapshots the first run saved (the table's, and
# the census state's).
serve_until_ready "serve from snapshot" || true

# 5. Simulate a draft.
t0=$(now)
sim_ok=1
/usr/bin/time -v -o "$DIR/sim.time" "$CREDO" simulate --db "$DB" --policy "$DRAFT" --json >"$DIR/sim.json" 2>"$DIR/sim.log" || sim_ok=0
t1=$(now)
[ "$sim_ok" = 1 ] || say "simulation" "failed: $(tail -1 "$DIR/sim.log" | cut -c1-200)"
say "simulation wall" "$(secs "$t0" "$t1")"
say "simulation peak RSS" "$(mib "$(rss_kb "$DIR/sim.time")")"
# 6. Incremental re-evaluation: a version that changes one rule's points
# (the first rule of -20 civic points gets -25), published to take effect
# now; serve starts from the snapshot of the version before it.
sed '0,/points: {civic: -20}/s//points: {civic: -25}/' "$POLICY" | sed 's/^version: "\(.*\)"/version: "\1-points"/' >"$DIR/points.yaml"
if "$CREDO" policy publish --db "$DB" --effective "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$DIR/points.yaml" >"$DIR/publish.log" 2>&1; then
	serve_until_ready "serve after one rule's points changed" || true
else
	say "publish" "failed: $(tail -1 "$DIR/publish.log")"
fi

# 7. Incremental filing into the loaded registry: a city a fiftieth the
# size generated with another seed (its case references made new: the
# generator numbers them per authority and year), ingested in batches of
# 10,000 through the registry (validation, idempotency, notices), as
# authorities file day after day.
more_people=$((PEOPLE / 50))
[ "$more_people" -lt 2000 ] && more_people=2000
if "$CREDO" generate --policy "$POLICY" --people "$more_people" --orgs $((more_people * ORGS / PEOPLE + 1)) --years "$YEARS" \
	--end "$END" --seed 7 --out - -q 2>"$DIR/more.log" | sed 's/"case_ref":"\([^"]*\)"/"case_ref":"\1-B"/' >"$DIR/more.ndjson"; then
	more=$(wc -l <"$DIR/more.ndjson")
	t0=$(now)
	if "$CREDO" ingest --db "$DB" -q "$DIR/more.ndjson" >"$DIR/ingest.log" 2>&1; then
		t1=$(now)
		say "incremental filing" "$more records in batches of 10,000 into the loaded registry in $(secs "$t0" "$t1")"
		say "incremental filing rate" "$(awk -v n="$more" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f records/s", n / (b - a)}')"
	else
		say "incremental filing" "failed: $(tail -1 "$DIR/ingest.log" | cut -c1-200)"
	fi
else
	say "incremental filing" "failed to generate: $(tail -1 "$DIR/more.log")"
fi

say "load average after" "$(cut -d' ' -f1-3 /proc/loadavg)"
