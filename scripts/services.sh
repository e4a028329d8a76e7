#!/usr/bin/env bash
# Starts the real services the engine needs (PostgreSQL, MinIO, the Temporal dev
# server), waits until each answers, prints where it listens, and stops
# everything it started when it exits.
#
#   scripts/services.sh run -- CMD [ARGS...]   start, run CMD with the VKYC_TEST_* variables, stop
#   scripts/services.sh up                      start and wait for Ctrl-C; the variables go to .run/services.env
#
# Choose services with SERVICES="postgres minio temporal" (default: all three).
# Ports are free ones unless PG_PORT, MINIO_PORT, TEMPORAL_PORT, TEMPORAL_UI_PORT
# are set. VKYC_TEST_DATABASE_URL set by the caller means "use that PostgreSQL".
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/.cache/bin"
SERVICES=${SERVICES:-"postgres minio temporal"}
MINIO_ROOT_USER=${MINIO_ROOT_USER:-vkycminio}
MINIO_ROOT_PASSWORD=${MINIO_ROOT_PASSWORD:-vkycminio-secret}
S3_BUCKET=${S3_BUCKET:-vkyc}
TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-default}

# The custom search attributes of a KYC case, shared with scripts/dev.sh.
mapfile -t SEARCH_ATTRIBUTES < <(grep -Ev '^[[:space:]]*(#|$)' "$root/scripts/search-attributes.txt")

log() { printf '[services] %s\n' "$*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vkyc-services.XXXXXX")
chmod 755 "$work"
pids=()
pg_data=""

stop_all() {
	local code=$?
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	if [ -n "$pg_data" ]; then
		as_pg pg_ctl -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
	fi
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
	exit $code
}
trap stop_all EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ports below the kernel's ephemeral range: a port there can be taken as the
# source port of any outgoing connection between this check and the bind
# (it happened once: Temporal's frontend port, bind: address in use).
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
	local p span=$((ephemeral_low - 20000))
	((span > 1000)) || span=30000
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % span))
		if port_free "$p"; then
			echo "$p"
			return
		fi
	done
	log "no free port found"
	exit 1
}

# wait_until SECONDS WHAT CMD...
wait_until() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			log "$what did not answer within ${secs}s"
			return 1
		fi
		sleep 0.2
	done
}

# as_pg runs a PostgreSQL tool as the postgres user when we are root: initdb
# refuses to run as root.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	dirname "$(command -v initdb)"
}

start_postgres() {
	if [ -n "${VKYC_TEST_DATABASE_URL:-}" ]; then
		log "PostgreSQL: using the given VKYC_TEST_DATABASE_URL"
		return
	fi
	if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
		log "installing PostgreSQL (apt)"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
	fi
	local pgb port
	pgb=$(pg_bin)
	export PATH="$pgb:$PATH"
	port=${PG_PORT:-$(free_port)}
	pg_data="$work/pg"
	mkdir -p "$pg_data"
	[ "$(id -u)" = 0 ] && chown postgres "$pg_data" "$work"
	as_pg initdb -D "$pg_data" -U postgres --auth=trust -E UTF8 --no-sync >"$work/pg-init.log" 2>&1 ||
		{ cat "$work/pg-init.log" >&2; exit 1; }
	# fsync off: these are throwaway test databases and the CPU is the limit here.
	as_pg pg_ctl -D "$pg_data" -l "$pg_data/server.log" -w -t 60 \
		-o "-p $port -k $pg_data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
		start >/dev/null
	export VKYC_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	export VKYC_TEST_PG_DATA="$pg_data" VKYC_TEST_PG_BIN="$pgb"
	log "PostgreSQL listening on 127.0.0.1:$port (data $pg_data)"
}

start_minio() {
	"$root/scripts/tools.sh" minio
	local port console
	port=${MINIO_PORT:-$(free_port)}
	console=$(free_port)
	mkdir -p "$work/minio"
	MINIO_ROOT_USER=$MINIO_ROOT_USER MINIO_ROOT_PASSWORD=$MINIO_ROOT_PASSWORD MINIO_BROWSER=off \
		MINIO_UPDATE=off MINIO_CI_CD=1 \
		"$bin/minio" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
		"$work/minio" >"$work/minio.log" 2>&1 &
	pids+=($!)
	wait_until 60 MinIO curl -fsS "http://127.0.0.1:$port/minio/health/ready" || { cat "$work/minio.log" >&2; exit 1; }
	# Create the bucket with a SigV4-signed PUT; 409 means it exists already.
	# A MinIO that reports ready can still answer 503 for a moment on a
	# loaded machine: retry server errors for up to 30 s.
	local code tries=0
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
			--user "$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD" "http://127.0.0.1:$port/$S3_BUCKET")
		case "$code" in
		200 | 409) break ;;
		5?? | 000) tries=$((tries + 1)) ;;
		*) log "creating bucket $S3_BUCKET failed: HTTP $code"; exit 1 ;;
		esac
		[ "$tries" -lt 60 ] || { log "creating bucket $S3_BUCKET failed: HTTP $code for 30 s"; cat "$work/minio.log" >&2; exit 1; }
		sleep 0.5
	done
	export VKYC_TEST_S3_ENDPOINT="127.0.0.1:$port" VKYC_TEST_S3_ACCESS_KEY=$MINIO_ROOT_USER \
		VKYC_TEST_S3_SECRET_KEY=$MINIO_ROOT_PASSWORD VKYC_TEST_S3_BUCKET=$S3_BUCKET VKYC_TEST_MINIO_DATA="$work/minio"
	log "MinIO listening on 127.0.0.1:$port (bucket $S3_BUCKET)"
}

start_temporal() {
	"$root/scripts/tools.sh" temporal
	local port ui args=()
	port=${TEMPORAL_PORT:-$(free_port)}
	ui=${TEMPORAL_UI_PORT:-$(free_port)}
	for sa in "${SEARCH_ATTRIBUTES[@]}"; do
		args+=(--search-attribute "$sa")
	done
	# A database file (not memory) so that a restart keeps the workflows; WAL and
	# synchronous=NORMAL make the SQLite store about 3x faster on this machine.
	# Eager activities: see deploy/temporal/dynamicconfig/vkyc.yaml.
	"$bin/temporal" server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui" \
		--namespace "$TEMPORAL_NAMESPACE" --db-filename "${TEMPORAL_DB_FILE:-$work/temporal.db}" \
		--sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=NORMAL \
		--dynamic-config-value system.enableActivityEagerExecution=true \
		--log-level warn "${args[@]}" >"$work/temporal.log" 2>&1 &
	pids+=($!)
	wait_until 90 Temporal "$bin/temporal" operator namespace describe --address "127.0.0.1:$port" -n "$TEMPORAL_NAMESPACE" ||
		{ cat "$work/temporal.log" >&2; exit 1; }
	export VKYC_TEST_TEMPORAL_ADDRESS="127.0.0.1:$port" VKYC_TEST_TEMPORAL_UI="http://127.0.0.1:$ui"
	export VKYC_TEST_TEMPORAL_PID=${pids[-1]}
	log "Temporal dev server on 127.0.0.1:$port, Web UI http://127.0.0.1:$ui"
}

start_selected() {
	local s
	# Builds first, in parallel, so a cold machine spends its minutes once.
	case " $SERVICES " in *" minio "* | *" temporal "*) "$root/scripts/tools.sh" all ;; esac
	for s in $SERVICES; do
		"start_$s"
	done
}

write_env() {
	mkdir -p "$root/.run"
	env | grep '^VKYC_TEST_' | sed 's/^/export /' >"$root/.run/services.env"
	log "variables written to .run/services.env"
}

cmd=${1:-}
case "$cmd" in
run)
	shift
	[ "${1:-}" = "--" ] && shift
	[ $# -gt 0 ] || { echo "usage: $0 run -- CMD [ARGS...]" >&2; exit 2; }
	start_selected
	"$@"
	;;
up)
	start_selected
	write_env
	log "running; Ctrl-C stops everything"
	sleep infinity &
	wait $!
	;;
*)
	echo "usage: $0 run -- CMD [ARGS...] | up" >&2
	exit 2
	;;
esac
