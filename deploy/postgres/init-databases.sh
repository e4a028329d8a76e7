#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised: one login role
# for the engine (owner of its database) and one for Temporal, which creates
# and migrates its own two databases (temporal, temporal_visibility) through
# the temporal-schema service. Separate roles keep a Temporal bug or upgrade
# from touching the bank's case records, and the other way round.
set -eu

: "${VKYC_DB_PASSWORD:?}" "${TEMPORAL_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
	-v vkyc_pw="$VKYC_DB_PASSWORD" -v temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE vkyc LOGIN PASSWORD :'vkyc_pw';
CREATE DATABASE vkyc OWNER vkyc;
REVOKE ALL ON DATABASE vkyc FROM PUBLIC;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
SQL
