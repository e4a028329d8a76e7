#!/usr/bin/env bash
# `make fuzz`: runs every fuzz target of the repository, one after another,
# for FUZZTIME each (default 5m), and prints a table of executions and
# failures. The table also goes to .run/fuzz/summary.tsv, which `make chaos`
# copies into docs/RELIABILITY.md.
#
#   FUZZTIME=30s scripts/fuzz.sh                 every target for 30 s
#   FUZZ_TARGETS='FuzzParse FuzzCaptureForm' ... only these targets
#   FUZZ_PARALLEL=2 ...                          fuzzing workers per target (default 1:
#                                                the machine is shared)
#
# A failing input is written by Go to <package>/testdata/fuzz/<target>/;
# fix the code and keep the file: `go test` then runs it for ever after.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
FUZZTIME=${FUZZTIME:-5m}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-1}
FUZZ_TARGETS=${FUZZ_TARGETS:-}
out="$root/.run/fuzz"
mkdir -p "$out"

log() { printf '[fuzz] %s\n' "$*" >&2; }

# Targets are found in the test files: "func FuzzX(f *testing.F)".
mapfile -t found < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -Ho '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' |
	sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort -u)
if [ ${#found[@]} -eq 0 ]; then
	log "no fuzz targets found"
	exit 1
fi

summary="$out/summary.tsv"
tmp_summary=$(mktemp)
trap 'rm -f "$tmp_summary"' EXIT
printf 'package\ttarget\tfuzztime\texecutions\tnew_inputs\tresult\tfinished\n' >"$tmp_summary"
failed=0
for entry in "${found[@]}"; do
	dir=${entry% *} target=${entry#* }
	if [ -n "$FUZZ_TARGETS" ] && [[ " $FUZZ_TARGETS " != *" $target "* ]]; then
		continue
	fi
	logfile="$out/$target.log"
	log "$target in ./$dir for $FUZZTIME (log $logfile)"
	set +e
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -parallel "$FUZZ_PARALLEL" "./$dir" >"$logfile" 2>&1
	code=$?
	set -e
	# The last progress line carries the totals: "execs: N (...), new interesting: M (total: T)".
	execs=$(grep -o 'execs: [0-9]*' "$logfile" | tail -1 | grep -o '[0-9]*' || true)
	interesting=$(grep -o 'new interesting: [0-9]*' "$logfile" | tail -1 | grep -o '[0-9]*' || true)
	result=ok
	if [ $code -ne 0 ]; then
		result=FAILED
		failed=1
		crasher=$(grep -o 'testdata/fuzz/[^ ]*' "$logfile" | head -1 || true)
		[ -n "$crasher" ] && result="FAILED ($dir/$crasher)"
		tail -30 "$logfile" >&2
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "./$dir" "$target" "$FUZZTIME" "${execs:-0}" "${interesting:-0}" "$result" \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$tmp_summary"
done

# Rows of targets not run this time are kept from the previous summary.
if [ -f "$summary" ]; then
	ran=$(tail -n +2 "$tmp_summary" | cut -f2 | tr '\n' ' ')
	tail -n +2 "$summary" | awk -F'\t' -v ran=" $ran" 'index(ran, " " $2 " ") == 0' >>"$tmp_summary"
fi
{ head -1 "$tmp_summary"; tail -n +2 "$tmp_summary" | sort; } >"$summary"
column -t -s $'\t' "$summary" 2>/dev/null || cat "$summary"
exit $failed
