#!/usr/bin/env bash
# The pages' front-end build (web/). `scripts/web.sh check` (run by `make test`)
# installs the pinned tools from web/package-lock.json, type-checks the sources
# against the pinned 100ms SDK's declarations, runs the provider tests with
# node's test runner, and rebuilds into a temporary folder to check that the
# committed web/dist is byte for byte what the sources give.
# `scripts/web.sh build` rebuilds web/dist after a change to web/src or
# web/static (commit the result: `go build` embeds it and needs no npm).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../web"

# npm ci only when the lockfile changed since the last install; the npm cache
# lets it run without the network once it has run once.
install() {
	local want have=""
	want=$(sha256sum package-lock.json | cut -d' ' -f1)
	[ -f node_modules/.vkyc-lock ] && have=$(cat node_modules/.vkyc-lock)
	if [ "$want" != "$have" ]; then
		npm ci --no-audit --no-fund --prefer-offline --loglevel=error
		echo "$want" > node_modules/.vkyc-lock
	fi
}

case "${1:-check}" in
build)
	install
	node build.mjs
	;;
check)
	install
	npx --no-install tsc --noEmit -p .
	node build.mjs --tests
	node --test .test-build/
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	node build.mjs --out "$tmp/dist"
	if ! diff -r dist "$tmp/dist"; then
		echo "web/dist is not what web/src and web/static build to: run scripts/web.sh build and commit web/dist" >&2
		exit 1
	fi
	echo "web/dist matches a rebuild from package-lock.json"
	;;
*)
	echo "usage: scripts/web.sh [check|build]" >&2
	exit 2
	;;
esac
