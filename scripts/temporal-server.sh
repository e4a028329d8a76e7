#!/usr/bin/env bash
# The real Temporal server on PostgreSQL, run natively the way
# docker-compose.yml runs it in containers: the same release
# (deploy/versions.env), the same config template (config/docker.yaml of
# that release, which the server renders itself), the same settings
# (deploy/temporal/server.env), the same dynamic config
# (deploy/temporal/dynamicconfig/vkyc.yaml) and the same one-shot scripts
# (deploy/temporal/schema.sh, deploy/temporal/init.sh). Used by
# scripts/prod-local.sh and by `make bench`.
#
#   scripts/temporal-server.sh schema   create/upgrade Temporal's two databases (as temporal-schema does)
#   scripts/temporal-server.sh start    exec the server (all four services in one process)
#   scripts/temporal-server.sh init     namespace and search attributes (as temporal-init does)
#
# Environment: POSTGRES_SEEDS, DB_PORT and POSTGRES_PWD (where the databases
# are, the password of POSTGRES_USER); for start the template's port
# variables (FRONTEND_GRPC_PORT, FRONTEND_HTTP_PORT, *_MEMBERSHIP_PORT,
# HISTORY/MATCHING/WORKER_GRPC_PORT; defaults 7233, 7243, 6933-6939, 7234,
# 7235, 7239); for init TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and
# SEARCH_ATTRIBUTES_FILE (default scripts/search-attributes.txt). Variables of
# deploy/temporal/server.env already set in the environment win over the
# file (the benchmark gives its databases other names).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/.cache/bin"
share="$root/.cache/share"

while IFS= read -r line; do
	name=${line%%=*}
	[ -n "${!name+x}" ] || export "${line?}"
done < <(grep -E '^[A-Z_][A-Z0-9_]*=' "$root/deploy/temporal/server.env")

cmd=${1:-}
case "$cmd" in
schema)
	"$root/scripts/tools.sh" temporal-server
	"$root/scripts/tools.sh" temporal-sql-tool
	: "${POSTGRES_PWD:?set POSTGRES_PWD, the password of $POSTGRES_USER}"
	SQL_PASSWORD=$POSTGRES_PWD TEMPORAL_SQL_TOOL="$bin/temporal-sql-tool" \
		TEMPORAL_SCHEMA_DIR="$share/temporal-server/schema/postgresql/v12" \
		exec sh "$root/deploy/temporal/schema.sh"
	;;
start)
	"$root/scripts/tools.sh" temporal-server
	: "${POSTGRES_SEEDS:?}" "${POSTGRES_PWD:?}"
	export DYNAMIC_CONFIG_FILE_PATH=${DYNAMIC_CONFIG_FILE_PATH:-$root/deploy/temporal/dynamicconfig/vkyc.yaml}
	export BIND_ON_IP=${BIND_ON_IP:-127.0.0.1}
	# The template takes the visibility store's port from VISIBILITY_DB_PORT
	# or POSTGRES_PORT, not DB_PORT (compose's 5432 is the default anyway).
	export VISIBILITY_DB_PORT=${VISIBILITY_DB_PORT:-${DB_PORT:-5432}}
	"$bin/temporal-server" validate-dynamic-config "$DYNAMIC_CONFIG_FILE_PATH" >/dev/null
	# No authorizer, as in compose: the frontend listens on loopback only.
	exec "$bin/temporal-server" --root "$share/temporal-server" --config config --env docker --allow-no-auth start
	;;
init)
	"$root/scripts/tools.sh" temporal
	: "${TEMPORAL_ADDRESS:?}"
	export SEARCH_ATTRIBUTES_FILE=${SEARCH_ATTRIBUTES_FILE:-$root/scripts/search-attributes.txt}
	PATH="$bin:$PATH" exec sh "$root/deploy/temporal/init.sh"
	;;
*)
	echo "usage: $0 schema|start|init" >&2
	exit 2
	;;
esac
