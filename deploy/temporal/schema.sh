#!/bin/sh
# Creates Temporal's databases on PostgreSQL if they are missing and brings
# their schemas to the version shipped with the schema tool (the admin-tools
# image in docker-compose.yml; the temporal-sql-tool and schema files that
# scripts/tools.sh builds and copies from the same server release for
# scripts/prod-local.sh). Every step is idempotent, so it runs on every start
# and also performs the schema upgrade after the Temporal version is bumped.
#
# Settings: deploy/temporal/server.env (DB, DBNAME, VISIBILITY_DBNAME,
# POSTGRES_USER), POSTGRES_SEEDS and DB_PORT, SQL_PASSWORD (the temporal
# role's), and outside the image TEMPORAL_SQL_TOOL and TEMPORAL_SCHEMA_DIR.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port=${DB_PORT:-5432}
plugin=${DB:-postgres12}
schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
sqltool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
export SQL_PASSWORD

if command -v nc >/dev/null 2>&1; then
	until nc -z "$POSTGRES_SEEDS" "$port"; do
		echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$port"
		sleep 1
	done
fi

for db in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
	name=${db%%:*}
	dir=${db##*:}
	tool() { "$sqltool" --plugin "$plugin" --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" --db "$name" "$@"; }
	tool create-database || echo "database $name exists"
	tool setup-schema -v 0.0 || echo "schema of $name already set up"
	tool update-schema -d "$schema/$dir/versioned"
done
echo "Temporal schemas are up to date"
