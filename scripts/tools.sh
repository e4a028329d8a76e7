#!/usr/bin/env bash
# Builds the pinned Temporal CLI and MinIO server once and reuses them.
#
# Binaries live in the project's git-ignored .cache/bin. Because CI and every
# fresh clone start without that folder, a per-user copy under
# ${VKYC_TOOLS_CACHE:-$HOME/.cache/vkyc/tools} is kept too (the same place Go
# keeps its own build cache), so a second clone links instead of rebuilding.
#
# Usage: scripts/tools.sh [temporal|minio|all]   prints nothing but progress on stderr.
set -euo pipefail

TEMPORAL_CLI_VERSION=v1.5.1
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/.cache/bin"
shared="${VKYC_TOOLS_CACHE:-$HOME/.cache/vkyc/tools}"
mkdir -p "$bin" "$shared"

log() { printf '[tools] %s\n' "$*" >&2; }

# ensure NAME MODULE VERSION
ensure() {
	local name=$1 module=$2 version=$3
	local target="$bin/$name-$version" cached="$shared/$name-$version"
	if [ -x "$target" ]; then
		ln -sf "$(basename "$target")" "$bin/$name"
		return
	fi
	if [ ! -x "$cached" ]; then
		log "building $module@$version (first time only, a few minutes)"
		local tmp
		tmp=$(mktemp -d)
		GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "$module@$version"
		mv "$tmp/$name" "$cached.partial.$$"
		mv "$cached.partial.$$" "$cached"
		rm -rf "$tmp"
	fi
	cp "$cached" "$target.partial.$$"
	mv "$target.partial.$$" "$target"
	ln -sf "$(basename "$target")" "$bin/$name"
	log "$name $version ready at $bin/$name"
}

what=${1:-all}
case "$what" in
temporal) ensure temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_CLI_VERSION" ;;
minio) ensure minio github.com/minio/minio "$MINIO_VERSION" ;;
all)
	# Both builds are CPU bound; running them side by side uses both cores.
	ensure temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_CLI_VERSION" &
	t=$!
	ensure minio github.com/minio/minio "$MINIO_VERSION" &
	m=$!
	wait $t
	wait $m
	;;
*)
	echo "usage: $0 [temporal|minio|all]" >&2
	exit 2
	;;
esac
