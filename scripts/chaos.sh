#!/usr/bin/env bash
# `make chaos`: the reliability and security proof, written to
# docs/RELIABILITY.md. scripts/services.sh has started PostgreSQL, MinIO and
# the Temporal dev server (VKYC_TEST_* variables) for the two test suites;
# the fault suite starts a stack of its own, whose services it stops and
# starts on purpose.
#
#   1. the hostile-request suite against the running API (api/requests_hostile_test.go)
#   2. the log and storage checks of a whole end-to-end run (internal/testkit/e2e/logscan_test.go)
#   3. the fault suite (cmd/chaos/), which writes the report with the figures of
#      1, 2 and of the last `make fuzz` (.run/fuzz/summary.tsv); its class 9
#      runs on scripts/prod-local.sh (the first run on a machine builds the
#      Temporal server, minutes)
#
# CHAOS_CASES (cases per fault class, default 24) and CHAOS_CLASSES (e.g.
# "1,5" or "worker-kill") are passed to the fault suite.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out="$root/.run/chaos"
mkdir -p "$out"
report="$root/docs/RELIABILITY.md"

step() { printf '\n== %s\n' "$*"; }

checks="$out/checks.tsv"
printf 'check\tcommand\tresult\n' >"$checks"
failed=0

# check NAME COMMAND...: runs a test command, keeps its output in
# .run/chaos/<name>.log and records the verdict for the report.
check() {
	local name=$1
	shift
	step "$name"
	local log="$out/${name// /-}.log"
	if "$@" 2>&1 | tee "$log"; then
		printf '%s\t`%s`\tpass\n' "$name" "$*" >>"$checks"
	else
		printf '%s\t`%s`\tFAIL (see .run/chaos/%s)\n' "$name" "$*" "$(basename "$log")" >>"$checks"
		failed=1
	fi
}

hostile="$out/hostile.tsv"
rm -f "$hostile"
export VKYC_HOSTILE_REPORT="$hostile"
check "hostile requests" go test -count=1 -run '^TestHostileRequests$' ./api/
unset VKYC_HOSTILE_REPORT
check "logs and storage of a whole run" go test -count=1 -run '^TestWholeRunLogsAndStorage$' ./internal/testkit/e2e/

step "fault suite"
args=(-report "$report" -checks "$checks")
[ -s "$hostile" ] && args+=(-hostile "$hostile")
[ -s "$root/.run/fuzz/summary.tsv" ] && args+=(-fuzz "$root/.run/fuzz/summary.tsv")
[ -n "${CHAOS_CASES:-}" ] && args+=(-cases "$CHAOS_CASES")
[ -n "${CHAOS_CLASSES:-}" ] && args+=(-classes "$CHAOS_CLASSES")
go run ./cmd/chaos "${args[@]}" || failed=1

echo
echo "report: docs/RELIABILITY.md"
exit $failed
