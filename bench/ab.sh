#!/usr/bin/env bash
# Same-run A/B of Go benchmarks between two commits: both sides' test
# binaries are built first, then run alternately (A, B, A, B, ...), so that
# the noise of a shared machine falls on both alike. Prints each side's
# results and, if benchstat is installed, the comparison.
#
#   bench/ab.sh OLD NEW PKG BENCH [ROUNDS]
#   bench/ab.sh c88c746 main ./registry 'BenchmarkCheck' 6
#
# benchstat: go install golang.org/x/perf/cmd/benchstat@latest
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 pkg=$3 bench=$4 rounds=${5:-6}
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/a" 2>/dev/null; git worktree remove --force "$tmp/b" 2>/dev/null; rm -rf "$tmp"' EXIT
for side in a b; do
  rev=$old; [ $side = b ] && rev=$new
  git worktree add -q --detach "$tmp/$side" "$rev"
  (cd "$tmp/$side" && go test -c -o "$tmp/$side.test" "$pkg")
done
for i in $(seq "$rounds"); do
  for side in a b; do
    (cd "$tmp/$side/$pkg" && "$tmp/$side.test" -test.run '^$' -test.bench "$bench" -test.benchmem -test.count 1) |
      grep '^Benchmark' >>"$tmp/$side.txt"
  done
done
echo "== A: $old"; cat "$tmp/a.txt"
echo "== B: $new"; cat "$tmp/b.txt"
if command -v benchstat >/dev/null; then benchstat A="$tmp/a.txt" B="$tmp/b.txt"; fi
