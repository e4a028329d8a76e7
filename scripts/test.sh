#!/usr/bin/env bash
# The checks behind `make test`; scripts/services.sh has started the services
# and exported their VKYC_TEST_* variables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

# The linters are pinned in tools/go.mod, a module of their own, so that the
# product's go.mod lists only what the product uses.
tool() { go tool -modfile=tools/go.mod "$@"; }

step "staticcheck"
# Its default checks; a finding that is intended carries a //lint:ignore
# comment saying why.
tool staticcheck ./...

step "gosec"
# Production code (gosec skips _test.go files by default). A finding that
# is intended carries a "#nosec G### -- why" comment on its line or block.
tool gosec -quiet -exclude-generated ./...

step "workflowcheck (determinism of workflow code)"
tool workflowcheck ./workflows/...

step "pages (web/): type-check, provider tests, reproducible build"
scripts/web.sh check

step "go test"
# -count=1: integration tests depend on live services, never on cached results.
go test -count=1 -timeout 25m ./...
