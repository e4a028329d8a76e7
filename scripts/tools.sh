#!/usr/bin/env bash
# Builds the pinned Temporal CLI and MinIO server once and reuses them.
#
# Binaries live in the project's git-ignored .cache/bin. Because CI and every
# fresh clone start without that folder, a per-user copy under
# ${VKYC_TOOLS_CACHE:-$HOME/.cache/vkyc/tools} is kept too (the same place Go
# keeps its own build cache), so a second clone links instead of rebuilding.
#
# The Temporal server, its schema tool and the Web UI server (for
# scripts/prod-local.sh) come with files of their release that they need at
# run time: the server's config template and SQL schemas, the UI's config
# template. Those are copied from the module next to the binary, under
# .cache/share/<name>.
#
# Usage: scripts/tools.sh [temporal|minio|all|prod|temporal-server|temporal-sql-tool|temporal-ui-server]
# prints nothing but progress on stderr.
set -euo pipefail

TEMPORAL_CLI_VERSION=v1.5.1
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION: shared with docker-compose.yml.
# shellcheck source=../deploy/versions.env
. "$root/deploy/versions.env"
bin="$root/.cache/bin"
share="$root/.cache/share"
shared="${VKYC_TOOLS_CACHE:-$HOME/.cache/vkyc/tools}"
mkdir -p "$bin" "$share" "$shared"

log() { printf '[tools] %s\n' "$*" >&2; }

# ensure NAME MODULE VERSION [BUILT [FILES...]]: BUILT is the name go install
# gives the binary (default NAME); FILES are paths inside the module copied
# to .cache/share/NAME.
ensure() {
	local name=$1 module=$2 version=$3 built=${4:-$1}
	local files=("${@:5}")
	local target="$bin/$name-$version" cached="$shared/$name-$version"
	if [ -x "$target" ] && { [ ${#files[@]} -eq 0 ] || [ -d "$share/$name-$version" ]; }; then
		ln -sf "$(basename "$target")" "$bin/$name"
		[ ${#files[@]} -eq 0 ] || ln -sfn "$name-$version" "$share/$name"
		return
	fi
	if [ ! -x "$cached" ] || { [ ${#files[@]} -gt 0 ] && [ ! -d "$cached.d" ]; }; then
		log "building $module@$version (first time only, a few minutes)"
		local tmp
		tmp=$(mktemp -d)
		GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "$module@$version"
		if [ ${#files[@]} -gt 0 ]; then
			# go install has put the module into the module cache.
			local dir f
			dir=$(go mod download -json "${module%%/cmd/*}@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
			[ -d "$dir" ] || { log "cannot find ${module%%/cmd/*}@$version in the module cache"; exit 1; }
			mkdir -p "$tmp/files"
			for f in "${files[@]}"; do
				mkdir -p "$tmp/files/$(dirname "$f")"
				cp -r --no-preserve=mode "$dir/$f" "$tmp/files/$f"
			done
			rm -rf "$cached.d"
			mv "$tmp/files" "$cached.d"
		fi
		mv "$tmp/$built" "$cached.partial.$$"
		mv "$cached.partial.$$" "$cached"
		rm -rf "$tmp"
	fi
	# A hard link where the file system allows it: the UI server embeds its
	# web assets and is large.
	ln -f "$cached" "$target.partial.$$" 2>/dev/null || cp "$cached" "$target.partial.$$"
	mv "$target.partial.$$" "$target"
	ln -sf "$(basename "$target")" "$bin/$name"
	if [ ${#files[@]} -gt 0 ]; then
		rm -rf "$share/$name-$version"
		cp -r "$cached.d" "$share/$name-$version"
		ln -sfn "$name-$version" "$share/$name"
	fi
	log "$name $version ready at $bin/$name"
}

# Both builds are CPU bound; running them side by side uses both cores.
cli_and_minio() {
	ensure temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_CLI_VERSION" &
	local t=$!
	ensure minio github.com/minio/minio "$MINIO_VERSION" &
	local m=$!
	wait $t
	wait $m
}

temporal_server() {
	ensure temporal-server go.temporal.io/server/cmd/server "$TEMPORAL_SERVER_VERSION" server \
		config/docker.yaml schema/postgresql/v12
}
temporal_sql_tool() { ensure temporal-sql-tool go.temporal.io/server/cmd/tools/sql "$TEMPORAL_SERVER_VERSION" sql; }
temporal_ui_server() {
	ensure temporal-ui-server github.com/temporalio/ui-server/v2/cmd/server "$TEMPORAL_UI_VERSION" server config/docker.yaml
}

what=${1:-all}
case "$what" in
temporal) ensure temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_CLI_VERSION" ;;
minio) ensure minio github.com/minio/minio "$MINIO_VERSION" ;;
all) cli_and_minio ;;
temporal-server) temporal_server ;;
temporal-sql-tool) temporal_sql_tool ;;
temporal-ui-server) temporal_ui_server ;;
prod)
	# Everything scripts/prod-local.sh runs. The server and its schema tool
	# build one after the other, so the second reuses the first's compiled
	# packages from Go's build cache.
	cli_and_minio
	temporal_server
	temporal_sql_tool
	temporal_ui_server
	;;
*)
	echo "usage: $0 [temporal|minio|all|prod|temporal-server|temporal-sql-tool|temporal-ui-server]" >&2
	exit 2
	;;
esac
