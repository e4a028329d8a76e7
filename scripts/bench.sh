#!/usr/bin/env bash
# `make bench`: measures the engine against baselines taken in the same run
# (see cmd/bench/ and docs/BENCHMARKS.md, which this writes with
# docs/bench-results.json). It prints figures; it is not a test.
#
#   scripts/bench.sh [bench flags]     e.g. -quick, -only 1,3, -profile none
#
# Fresh PostgreSQL, MinIO and Temporal dev server (SQLite in WAL mode) are
# started by scripts/services.sh for the run and stopped after it; variables
# of services already running are ignored so that no figure depends on what
# other work left in them.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

while IFS= read -r v; do
	unset "$v"
done < <(env | grep -o '^VKYC_TEST_[A-Z_]*' || true)

mkdir -p .run/bench
# Built before the services start, so that compiling never overlaps them.
go build -o .run/bench/bench ./cmd/bench

export BENCH_COMMAND="make bench${*:+ BENCH_ARGS=\"$*\"}"
exec scripts/services.sh run -- .run/bench/bench -root "$root" "$@"
