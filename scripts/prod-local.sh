#!/usr/bin/env bash
# `make prod-local`: docker-compose.yml's production topology as native
# processes, without Docker, with the engine scaled out as a bank runs it.
#
#   PostgreSQL            127.0.0.1:5432  roles and databases of deploy/postgres/init-databases.sh
#   Temporal server       127.0.0.1:7233  the real server (deploy/versions.env) on PostgreSQL,
#                                         schema by deploy/temporal/schema.sh, namespace and
#                                         search attributes by deploy/temporal/init.sh
#   Temporal Web UI       http://127.0.0.1:8233
#   MinIO                 127.0.0.1:9000  bucket by deploy/minio/init.sh
#   100ms simulator       http://127.0.0.1:8090, webhooks delivered through the proxy
#   worker-1, worker-2
#   api-1, api-2          127.0.0.1:8081, 127.0.0.1:8082
#   HAProxy               http://127.0.0.1:8080 in front of api-1 and api-2 (deploy/haproxy/haproxy.cfg)
#
# `go run ./starter demo` and the pages work against it as against `make dev`.
# Data (PostgreSQL, MinIO) and the generated passwords (secrets.env) stay in
# PROD_DIR (.run/prod) across runs, like compose's volumes; `make clean`
# removes them. Each part is restarted when it exits, as compose's
# `restart: unless-stopped` does; Ctrl-C stops everything.
#
#   scripts/prod-local.sh          start, print the addresses, run until Ctrl-C
#   scripts/prod-local.sh env      print each part's settings and the one-shot
#                                  scripts, start nothing (deploy/prodlocal_test.go
#                                  compares them with docker-compose.yml)
#
# Ports: PROD_HTTP_PORT (8080), PROD_API_1_PORT (8081), PROD_API_2_PORT (8082),
# PROD_SIM_PORT (8090), PROD_TEMPORAL_UI_PORT (8233), PROD_MINIO_PORT (9000),
# PROD_MINIO_CONSOLE_PORT (9001), PROD_PG_PORT (5432), and the Temporal
# server's own variables (FRONTEND_GRPC_PORT 7233, FRONTEND_HTTP_PORT 7243,
# FRONTEND/HISTORY/MATCHING/WORKER_MEMBERSHIP_PORT 6933/6934/6935/6939,
# HISTORY/MATCHING/WORKER_GRPC_PORT 7234/7235/7239). internal/platform/config's
# variables set in the environment reach the engine's programs (CASE_TTL,
# API_JWT_SECRET, ...), except those this script sets. While it runs, the
# pid of each part is in PROD_DIR/run/<part>.pid and its output in
# PROD_DIR/logs/<part>.log; PROD_DIR/run/ready holds the addresses once every
# part answers.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dir=$(realpath -m "${PROD_DIR:-$root/.run/prod}")
bin="$dir/bin"
tools="$root/.cache/bin"
run="$dir/run"

# ---- addresses ----------------------------------------------------------------

host=127.0.0.1
proxy_port=${PROD_HTTP_PORT:-8080}
api_ports=("${PROD_API_1_PORT:-8081}" "${PROD_API_2_PORT:-8082}")
sim_port=${PROD_SIM_PORT:-8090}
ui_port=${PROD_TEMPORAL_UI_PORT:-8233}
minio_port=${PROD_MINIO_PORT:-9000}
minio_console_port=${PROD_MINIO_CONSOLE_PORT:-9001}
pg_port=${PROD_PG_PORT:-5432}
# The Temporal server's ports, under the names of its config template.
export FRONTEND_GRPC_PORT=${FRONTEND_GRPC_PORT:-7233} FRONTEND_HTTP_PORT=${FRONTEND_HTTP_PORT:-7243} \
	FRONTEND_MEMBERSHIP_PORT=${FRONTEND_MEMBERSHIP_PORT:-6933} HISTORY_GRPC_PORT=${HISTORY_GRPC_PORT:-7234} \
	HISTORY_MEMBERSHIP_PORT=${HISTORY_MEMBERSHIP_PORT:-6934} MATCHING_GRPC_PORT=${MATCHING_GRPC_PORT:-7235} \
	MATCHING_MEMBERSHIP_PORT=${MATCHING_MEMBERSHIP_PORT:-6935} WORKER_GRPC_PORT=${WORKER_GRPC_PORT:-7239} \
	WORKER_MEMBERSHIP_PORT=${WORKER_MEMBERSHIP_PORT:-6939}
temporal_addr=$host:$FRONTEND_GRPC_PORT
proxy_url=http://$host:$proxy_port
sim_url=http://$host:$sim_port
namespace=${TEMPORAL_NAMESPACE:-default}
bucket=${S3_BUCKET:-vkyc}
region=${S3_REGION:-us-east-1}
replicas=(1 2)

# ---- settings -----------------------------------------------------------------

# The passwords and keys compose takes from .env (deploy/compose.env.example
# names them), generated once per PROD_DIR.
secret_names=(POSTGRES_PASSWORD VKYC_DB_PASSWORD TEMPORAL_DB_PASSWORD MINIO_ROOT_USER MINIO_ROOT_PASSWORD
	HMS_ACCESS_KEY HMS_APP_SECRET HMS_WEBHOOK_SECRET EVIDENCE_SIGNING_KEY PAYLOAD_CODEC_KEYS)

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
random_b64() { head -c "$1" /dev/urandom | base64 -w0; }

# new_secret NAME prints a fresh value for NAME.
new_secret() {
	case $1 in
	MINIO_ROOT_USER) echo "vkyc-$(random_hex 4)" ;;
	EVIDENCE_SIGNING_KEY) random_b64 32 ;;
	PAYLOAD_CODEC_KEYS) echo "k1:$(random_b64 32)" ;;
	*) random_hex 24 ;;
	esac
}

load_secrets() {
	local f="$dir/secrets.env" name
	if [ "${1:-}" = placeholders ]; then
		for name in "${secret_names[@]}"; do printf -v "$name" '%s' "generated-${name,,}"; done
		# These two are read as base64 keys of 32 bytes.
		EVIDENCE_SIGNING_KEY=$(printf 'generated-evidence-signing-key!!' | base64 -w0)
		PAYLOAD_CODEC_KEYS="k1:$(printf 'generated-payload-codec-key-32b!' | base64 -w0)"
		return
	fi
	if [ ! -f "$f" ]; then
		[ ! -d "$dir/pg" ] || { log "$dir/pg exists but $f does not: the passwords of its roles are lost; remove $dir to start afresh"; exit 1; }
		(
			umask 077
			for name in "${secret_names[@]}"; do echo "$name=$(new_secret "$name")"; done >"$f"
		)
	fi
	# Settings added since the folder was made get a value of their own.
	for name in "${secret_names[@]}"; do
		grep -qE "^$name=" "$f" || echo "$name=$(new_secret "$name")" >>"$f"
	done
	for name in "${secret_names[@]}"; do
		local line
		line=$(grep -E "^$name=" "$f" | tail -1) || { log "$f lacks $name"; exit 1; }
		printf -v "$name" '%s' "${line#*=}"
	done
}

# engine_env N: the environment of api-N and worker-N (docker-compose.yml's
# x-engine-env). VKYC_ENV=development as deploy/compose.env.example says for
# the simulator (it is not 100ms, so no https webhook URL or production
# template); the API's JWT secret stays the development default unless
# API_JWT_SECRET is set, so that `starter demo` and `starter token` work
# unchanged. HMS_TEMPLATE_ID is the template applied to the simulator.
engine_env() {
	echo "VKYC_ENV=development"
	echo "LOG_LEVEL=${LOG_LEVEL:-info}"
	echo "PUBLIC_BASE_URL=$proxy_url"
	echo "DATABASE_URL=postgres://vkyc:$VKYC_DB_PASSWORD@$host:$pg_port/vkyc?sslmode=disable"
	echo "S3_ENDPOINT=$host:$minio_port"
	echo "S3_ACCESS_KEY=$MINIO_ROOT_USER"
	echo "S3_SECRET_KEY=$MINIO_ROOT_PASSWORD"
	echo "S3_BUCKET=$bucket"
	echo "S3_REGION=$region"
	# Presigned URLs for browsers on this machine; plain HTTP to the local
	# MinIO, which encrypts nothing, as compose's example says for its own.
	echo "S3_PUBLIC_ENDPOINT=http://$host:$minio_port"
	echo "S3_ALLOW_HTTP=true"
	echo "S3_ALLOW_UNENCRYPTED=true"
	# Two workers on one host: each its own free port for /metrics.
	echo "WORKER_HTTP_ADDR=$host:0"
	echo "TEMPORAL_ADDRESS=$temporal_addr"
	echo "TEMPORAL_NAMESPACE=$namespace"
	echo "TEMPORAL_TASK_QUEUE=kyc-cases"
	echo "HMS_BASE_URL=$sim_url/v2"
	echo "HMS_ACCESS_KEY=$HMS_ACCESS_KEY"
	echo "HMS_APP_SECRET=$HMS_APP_SECRET"
	echo "HMS_WEBHOOK_HEADER=${HMS_WEBHOOK_HEADER:-X-Vkyc-Webhook-Secret}"
	echo "HMS_WEBHOOK_SECRET=$HMS_WEBHOOK_SECRET"
	echo "HMS_TEMPLATE_ID=${HMS_TEMPLATE_ID:-}"
	echo "EVIDENCE_SIGNING_KEY=$EVIDENCE_SIGNING_KEY"
	echo "PAYLOAD_CODEC_KEYS=$PAYLOAD_CODEC_KEYS"
	# The bank's webhooks and single sign-on, which compose takes from .env:
	# passed on from this script's environment when set.
	local name
	for name in BANK_WEBHOOK_URLS BANK_WEBHOOK_SECRETS BANK_WEBHOOK_TIMEOUT BANK_WEBHOOK_BACKOFF BANK_WEBHOOK_BACKOFF_MAX \
		OIDC_ISSUER OIDC_CLIENT_ID OIDC_CLIENT_SECRET OIDC_AUDIENCE OIDC_SCOPES OIDC_ROLE_CLAIM OIDC_ROLE_MAP \
		OIDC_SUBJECT_CLAIM OIDC_CLOCK_SKEW; do
		[ -z "${!name:-}" ] || echo "$name=${!name}"
	done
}

api_env() {
	engine_env
	echo "HTTP_ADDR=$host:${api_ports[$(($1 - 1))]}"
}

# The simulator as compose's sim profile runs it, with `make dev`'s short
# recording delays; 100ms's webhooks reach the API through the proxy, as
# they would reach a bank's load balancer.
sim_env() {
	echo "HMSSIM_ADDR=$host:$sim_port"
	echo "HMSSIM_WEBHOOK_URL=$proxy_url/v1/webhooks/100ms"
	echo "HMSSIM_RECORDING_START_DELAY=${HMSSIM_RECORDING_START_DELAY:-1s}"
	echo "HMSSIM_RECORDING_READY_DELAY=${HMSSIM_RECORDING_READY_DELAY:-3s}"
	echo "HMS_ACCESS_KEY=$HMS_ACCESS_KEY"
	echo "HMS_APP_SECRET=$HMS_APP_SECRET"
	echo "HMS_WEBHOOK_HEADER=${HMS_WEBHOOK_HEADER:-X-Vkyc-Webhook-Secret}"
	echo "HMS_WEBHOOK_SECRET=$HMS_WEBHOOK_SECRET"
	echo "S3_ENDPOINT=$host:$minio_port"
	echo "S3_ACCESS_KEY=$MINIO_ROOT_USER"
	echo "S3_SECRET_KEY=$MINIO_ROOT_PASSWORD"
	echo "S3_BUCKET=$bucket"
}

# The Temporal server's environment besides deploy/temporal/server.env,
# which scripts/temporal-server.sh reads (the other ports are exported above).
temporal_env() {
	echo "FRONTEND_GRPC_PORT=$FRONTEND_GRPC_PORT"
	echo "POSTGRES_SEEDS=$host"
	echo "DB_PORT=$pg_port"
	echo "POSTGRES_PWD=$TEMPORAL_DB_PASSWORD"
	echo "BIND_ON_IP=$host"
	echo "DYNAMIC_CONFIG_FILE_PATH=$root/deploy/temporal/dynamicconfig/vkyc.yaml"
}

# The Web UI gets the variables compose gives temporalio/ui, read by the
# same config template (config/docker.yaml of the UI server's release).
ui_env() {
	echo "TEMPORAL_ADDRESS=$temporal_addr"
	echo "TEMPORAL_DEFAULT_NAMESPACE=$namespace"
	echo "TEMPORAL_UI_PORT=$ui_port"
	# Payloads are sealed; the UI shows them through the API's codec endpoint.
	echo "TEMPORAL_CODEC_ENDPOINT=$proxy_url/codec"
	echo "TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true"
}

temporal_init_env() {
	echo "TEMPORAL_ADDRESS=$temporal_addr"
	echo "TEMPORAL_NAMESPACE=$namespace"
	echo "TEMPORAL_NAMESPACE_RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-30d}"
	echo "SEARCH_ATTRIBUTES_FILE=$root/scripts/search-attributes.txt"
}

minio_init_env() {
	echo "MINIO_ENDPOINT=http://$host:$minio_port"
	echo "MINIO_ROOT_USER=$MINIO_ROOT_USER"
	echo "MINIO_ROOT_PASSWORD=$MINIO_ROOT_PASSWORD"
	echo "S3_BUCKET=$bucket"
	echo "S3_REGION=$region"
}

# The one-shot jobs of compose and the scripts both run.
oneshot_scripts=(
	"postgres-init deploy/postgres/init-databases.sh"
	"temporal-schema deploy/temporal/schema.sh"
	"temporal-init deploy/temporal/init.sh"
	"minio-init deploy/minio/init.sh"
)

if [ "${1:-}" = env ]; then
	load_secrets placeholders
	for n in "${replicas[@]}"; do
		api_env "$n" | sed "s/^/api-$n /"
		engine_env | sed "s/^/worker-$n /"
	done
	sim_env | sed 's/^/simulator /'
	temporal_env | sed 's/^/temporal /'
	ui_env | sed 's/^/temporal-ui /'
	temporal_init_env | sed 's/^/temporal-init /'
	minio_init_env | sed 's/^/minio-init /'
	for s in "${oneshot_scripts[@]}"; do echo "oneshot $s"; done
	exit 0
elif [ -n "${1:-}" ]; then
	echo "usage: $0 [env]" >&2
	exit 2
fi

# ---- running parts ------------------------------------------------------------

bold='' plain=''
if [ -t 2 ]; then
	bold=$(printf '\033[1m') plain=$(printf '\033[0m')
fi
log() { printf '%s[prod]%s %s\n' "$bold" "$plain" "$*" >&2; }

mkdir -p "$dir" "$run" "$dir/logs" "$bin"
rm -f "$run"/*.pid "$run/ready" "$run/stopping"
sups=()
declare -A part_of=()

# stop_all stops the parts in the reverse order of their start: the proxy
# and the API first, so that nothing new reaches the workers while they
# drain (running activities may finish for up to 30 s), the services they
# use last.
stop_all() {
	local code=$? i sup deadline pid
	trap - EXIT INT TERM HUP
	touch "$run/stopping"
	[ ${#sups[@]} -gt 0 ] && log "stopping"
	for ((i = ${#sups[@]} - 1; i >= 0; i--)); do
		sup=${sups[$i]}
		kill -TERM "$sup" 2>/dev/null || continue
		deadline=$((SECONDS + 45))
		while kill -0 "$sup" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
			sleep 0.2
		done
		if kill -0 "$sup" 2>/dev/null; then
			pid=$(cat "$run/${part_of[$sup]}.pid" 2>/dev/null || true)
			[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
			kill -KILL "$sup" 2>/dev/null || true
			log "${part_of[$sup]} did not stop in time; killed"
		fi
		wait "$sup" 2>/dev/null || true
	done
	rm -f "$run"/*.pid "$run/ready" "$run/stopping"
	exit "$code"
}
trap stop_all EXIT
trap 'exit 130' INT TERM HUP

port_free() { ! (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

need_port() {
	if ! port_free "$1"; then
		log "port $1 ($2) is in use: is another 'make prod-local' or 'make dev' running? Stop it, or set $3."
		exit 1
	fi
}

# prefix NAME COLOR: labels each line of a part's output and appends it to
# the part's log file. It ignores Ctrl-C and ends when its part closes its
# output, so that a part is never killed by a broken pipe.
prefix() {
	trap '' INT TERM
	local label line
	label=$(printf '%-11s|' "$1")
	[ -t 1 ] && label=$(printf '\033[%sm%s\033[0m' "$2" "$label")
	exec 3>>"$dir/logs/$1.log"
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s %s\n' "$label" "$line"
		printf '%s\n' "$line" >&3
	done
}

colors=(36 33 35 32 34 31)

# supervise NAME STOPSIG CMD...: runs CMD in the background and starts it
# again whenever it exits, after 1 s doubling to 30 s (back to 1 s after 10 s
# of running), like compose's restart policy unless-stopped. On TERM the
# supervisor sends STOPSIG to CMD, waits for it and ends.
supervise() {
	local name=$1 sig=$2
	shift 2
	local color=${colors[$((${#sups[@]} % ${#colors[@]}))]}
	(
		trap - EXIT
		trap '' INT HUP
		child=0 stopping=0 delay=1
		trap 'stopping=1; [ "$child" = 0 ] || kill -s "$sig" "$child" 2>/dev/null || true' TERM
		while :; do
			started=$SECONDS
			"$@" > >(prefix "$name" "$color") 2>&1 &
			child=$!
			echo "$child" >"$run/$name.pid"
			code=0
			wait "$child" || code=$?
			while kill -0 "$child" 2>/dev/null; do
				code=0
				wait "$child" || code=$?
			done
			child=0
			# Ctrl-C reaches every part at once; give the stop a moment to be seen.
			sleep 0.5
			[ "$stopping" = 0 ] && [ ! -e "$run/stopping" ] || exit 0
			[ $((SECONDS - started)) -lt 10 ] || delay=1
			log "$name exited (status $code); restarting in ${delay}s"
			sleep "$delay" &
			child=$!
			wait "$child" || true
			child=0
			[ "$stopping" = 0 ] && [ ! -e "$run/stopping" ] || exit 0
			delay=$((delay * 2 > 30 ? 30 : delay * 2))
		done
	) &
	sups+=($!)
	part_of[$!]=$name
}

pid_of() { cat "$run/$1.pid" 2>/dev/null || true; }

# wait_until SECONDS WHAT CMD...: polls CMD; gives up early if a supervisor died.
wait_until() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs)) sup
	until "$@" >/dev/null 2>&1; do
		for sup in "${sups[@]}"; do
			kill -0 "$sup" 2>/dev/null || { log "the supervisor of ${part_of[$sup]} died"; exit 1; }
		done
		if [ $SECONDS -ge $deadline ]; then
			log "$what is not ready after ${secs}s (logs in $dir/logs)"
			exit 1
		fi
		sleep 0.3
	done
}

# oneshot NAME CMD...: runs a one-shot job (compose's run-once services);
# it must succeed. Its output (the schema tool's is long) goes to its log,
# and to the terminal only when it fails.
oneshot() {
	local name=$1
	shift
	log "$name (log: $dir/logs/$name.log)"
	if ! "$@" >>"$dir/logs/$name.log" 2>&1; then
		tail -n 30 "$dir/logs/$name.log" >&2
		log "$name failed"
		exit 1
	fi
}

# as_pg: the command prefix that runs a PostgreSQL program as the postgres
# user when we are root (PostgreSQL refuses to run as root). setpriv execs,
# so a supervised server keeps the pid the supervisor knows.
as_pg=()
[ "$(id -u)" != 0 ] || as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)

pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

apt_install() {
	if [ "$(id -u)" != 0 ]; then
		log "$1 is not installed: install it (sudo apt-get install $1) and run again"
		exit 1
	fi
	log "installing $1 (apt)"
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null) >&2
}

# ---- checks and build ---------------------------------------------------------

need_port "$proxy_port" "the proxy" PROD_HTTP_PORT
need_port "${api_ports[0]}" api-1 PROD_API_1_PORT
need_port "${api_ports[1]}" api-2 PROD_API_2_PORT
need_port "$sim_port" "100ms simulator" PROD_SIM_PORT
need_port "$ui_port" "Temporal Web UI" PROD_TEMPORAL_UI_PORT
need_port "$minio_port" MinIO PROD_MINIO_PORT
need_port "$minio_console_port" "MinIO console" PROD_MINIO_CONSOLE_PORT
need_port "$pg_port" PostgreSQL PROD_PG_PORT
for v in FRONTEND_GRPC_PORT FRONTEND_HTTP_PORT FRONTEND_MEMBERSHIP_PORT HISTORY_GRPC_PORT HISTORY_MEMBERSHIP_PORT \
	MATCHING_GRPC_PORT MATCHING_MEMBERSHIP_PORT WORKER_GRPC_PORT WORKER_MEMBERSHIP_PORT; do
	need_port "${!v}" "Temporal server" "$v"
	# The server stores its ports in a SMALLINT column of cluster_membership.
	[ "${!v}" -lt 32768 ] || { log "$v=${!v}: the Temporal server needs ports below 32768"; exit 1; }
done

command -v haproxy >/dev/null 2>&1 || apt_install haproxy
[ -n "$(pg_bin)" ] || apt_install postgresql
pgb=$(pg_bin)

"$root/scripts/tools.sh" prod
log "building the programs into $bin"
go build -o "$bin/" ./api/server ./worker ./cmd/simulator ./starter
mv -f "$bin/server" "$bin/api"

load_secrets

# ---- PostgreSQL -----------------------------------------------------------------

pg_data="$dir/pg"
first_start=0
if [ ! -s "$pg_data/PG_VERSION" ]; then
	first_start=1
	log "creating the PostgreSQL cluster in $pg_data"
	mkdir -p "$pg_data"
	pwfile="$dir/.pgpass-init"
	(umask 077 && printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile")
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$pg_data" "$pwfile"
		chmod 755 "$dir"
		"${as_pg[@]}" test -r "$pwfile" || {
			rm -f "$pwfile"
			log "the postgres user cannot reach $dir: make its parent folders traversable (chmod o+x) or set PROD_DIR elsewhere"
			exit 1
		}
	fi
	# Passwords over TCP, as in compose; the Unix socket in the data folder
	# (reachable by its owner only) serves the init script.
	"${as_pg[@]}" "$pgb/initdb" -D "$pg_data" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
		-E UTF8 >"$dir/logs/initdb.log" 2>&1 || { rm -f "$pwfile"; cat "$dir/logs/initdb.log" >&2; exit 1; }
	rm -f "$pwfile"
fi
supervise postgres INT "${as_pg[@]}" "$pgb/postgres" -D "$pg_data" -p "$pg_port" -k "$pg_data" -c listen_addresses="$host"
wait_until 60 PostgreSQL "$pgb/pg_isready" -q -h "$pg_data" -p "$pg_port" -U postgres
if [ $first_start = 1 ] || [ ! -e "$pg_data/.vkyc-initialized" ]; then
	# What the postgres image does with /docker-entrypoint-initdb.d on the
	# first start of its volume.
	oneshot postgres-init env POSTGRES_USER=postgres PGHOST="$pg_data" PGPORT="$pg_port" \
		VKYC_DB_PASSWORD="$VKYC_DB_PASSWORD" TEMPORAL_DB_PASSWORD="$TEMPORAL_DB_PASSWORD" \
		sh "$root/deploy/postgres/init-databases.sh"
	touch "$pg_data/.vkyc-initialized"
fi

# ---- MinIO ----------------------------------------------------------------------

mkdir -p "$dir/minio"
supervise minio TERM env MINIO_ROOT_USER="$MINIO_ROOT_USER" MINIO_ROOT_PASSWORD="$MINIO_ROOT_PASSWORD" \
	MINIO_BROWSER=off MINIO_UPDATE=off "$tools/minio" server --quiet --address "$host:$minio_port" \
	--console-address "$host:$minio_console_port" "$dir/minio"
mapfile -t minio_init < <(minio_init_env)
oneshot minio-init env "${minio_init[@]}" sh "$root/deploy/minio/init.sh"

# ---- Temporal -------------------------------------------------------------------

mapfile -t temporal < <(temporal_env)
oneshot temporal-schema env "${temporal[@]}" "$root/scripts/temporal-server.sh" schema
# LOG_LEVEL meant for the engine does not reach the server (server.env sets its own).
supervise temporal TERM env -u LOG_LEVEL "${temporal[@]}" "$root/scripts/temporal-server.sh" start
mapfile -t temporal_init < <(temporal_init_env)
oneshot temporal-init env "${temporal_init[@]}" "$root/scripts/temporal-server.sh" init

# The UI server's config: the release's template as the image has it, and a
# base file that binds it to loopback (the image relies on compose
# publishing the port on 127.0.0.1 only).
mkdir -p "$dir/ui/config"
cp -f "$root/.cache/share/temporal-ui-server/config/docker.yaml" "$dir/ui/config/docker.yaml"
echo "host: $host" >"$dir/ui/config/base.yaml"
mapfile -t ui < <(ui_env)
supervise temporal-ui TERM env "${ui[@]}" "$tools/temporal-ui-server" --root "$dir/ui" --config config --env docker start

# ---- the 100ms simulator and the engine ---------------------------------------------

mapfile -t sim < <(sim_env)
supervise simulator TERM env "${sim[@]}" "$bin/simulator"
wait_until 30 "the 100ms simulator" curl -fsS "$sim_url/sim/v1/faults"
if [ -z "${HMS_TEMPLATE_ID:-}" ]; then
	# The template a real account gets, so rooms record as in production.
	mapfile -t engine < <(engine_env)
	HMS_TEMPLATE_ID=$(env "${engine[@]}" "$bin/starter" template apply 2>"$dir/logs/template.log") ||
		{ cat "$dir/logs/template.log" >&2; exit 1; }
	log "100ms template applied to the simulator: $HMS_TEMPLATE_ID"
fi

mapfile -t engine < <(engine_env)
for n in "${replicas[@]}"; do
	supervise "worker-$n" TERM env "${engine[@]}" "$bin/worker"
done
for n in "${replicas[@]}"; do
	mapfile -t api < <(api_env "$n")
	supervise "api-$n" TERM env "${api[@]}" "$bin/api"
done
for n in "${replicas[@]}"; do
	wait_until 120 "api-$n" curl -fsS "http://$host:${api_ports[$((n - 1))]}/readyz"
done
supervise proxy USR1 env VKYC_PROXY_ADDR="$host:$proxy_port" VKYC_API_1_ADDR="$host:${api_ports[0]}" \
	VKYC_API_2_ADDR="$host:${api_ports[1]}" haproxy -db -f "$root/deploy/haproxy/haproxy.cfg"
wait_until 30 "the proxy" curl -fsS "$proxy_url/readyz"
wait_until 60 "the Temporal Web UI" curl -fsS "http://$host:$ui_port/"

# A worker is ready when it polls the task queue (its identity is <pid>@<host>@).
for n in "${replicas[@]}"; do
	wait_until 60 "worker-$n" bash -c "'$tools/temporal' task-queue describe --address '$temporal_addr' -n '$namespace' \
		--task-queue kyc-cases -o json | grep -q '\"identity\": \"$(pid_of "worker-$n")@'"
done

{
	echo "PROD_DIR=$dir"
	echo "API_URL=$proxy_url"
	for n in "${replicas[@]}"; do echo "API_${n}_URL=http://$host:${api_ports[$((n - 1))]}"; done
	echo "SIM_URL=$sim_url"
	echo "TEMPORAL_ADDRESS=$temporal_addr"
	echo "TEMPORAL_UI_URL=http://$host:$ui_port"
	echo "S3_ENDPOINT=$host:$minio_port"
	echo "PG_PORT=$pg_port"
	echo "HMS_TEMPLATE_ID=$HMS_TEMPLATE_ID"
} >"$run/ready.partial"
mv "$run/ready.partial" "$run/ready"

cat >&2 <<EOF

${bold}vKYC production topology running${plain} (data in $dir)
  API (HAProxy)     $proxy_url   -> api-1 http://$host:${api_ports[0]}, api-2 http://$host:${api_ports[1]}
  workers           worker-1 (pid $(pid_of worker-1)), worker-2 (pid $(pid_of worker-2))
  Temporal server   $temporal_addr (PostgreSQL persistence and visibility), Web UI http://$host:$ui_port
  PostgreSQL        $host:$pg_port, databases vkyc, temporal, temporal_visibility (passwords in $dir/secrets.env)
  MinIO             $host:$minio_port, bucket $bucket
  100ms simulator   $sim_url (API /v2, participants /sim/v1), template $HMS_TEMPLATE_ID

Run one case from creation to approval (in another terminal):
  go run ./starter demo
Each part is restarted when it exits; logs in $dir/logs. Ctrl-C stops everything.

EOF

# Run until Ctrl-C or TERM; the supervisors keep the parts up.
wait "${sups[@]}" || true
log "the supervisors ended"
exit 1
