#!/bin/sh
# Creates Temporal's databases on PostgreSQL if they are missing and brings
# their schemas to the version shipped with the admin-tools image. Every step
# is idempotent, so the service runs on every `docker compose up` and also
# performs the schema upgrade after the Temporal images are bumped.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port=${DB_PORT:-5432}
schema=/etc/temporal/schema/postgresql/v12

until nc -z "$POSTGRES_SEEDS" "$port"; do
	echo "waiting for PostgreSQL at $POSTGRES_SEEDS:$port"
	sleep 1
done

for db in temporal:temporal temporal_visibility:visibility; do
	name=${db%%:*}
	dir=${db##*:}
	tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" --db "$name" "$@"; }
	tool create-database || echo "database $name exists"
	tool setup-schema -v 0.0 || echo "schema of $name already set up"
	tool update-schema -d "$schema/$dir/versioned"
done
echo "Temporal schemas are up to date"
