#!/usr/bin/env bash
# `make dev`: the whole engine on 127.0.0.1 with no configuration.
#
#   Temporal dev server   127.0.0.1:7233, Web UI http://127.0.0.1:8233  (unless TEMPORAL_ADDRESS is set)
#   development S3        127.0.0.1:9000, data in .run/dev/s3            (unless S3_ENDPOINT is set):
#                         the pinned MinIO that make test uses too
#   SQLite                .run/dev/vkyc.db                               (unless DATABASE_URL is set)
#   100ms simulator       http://127.0.0.1:8090                          (unless HMS_BASE_URL is set)
#   worker, API           http://127.0.0.1:8080                          (HTTP_ADDR)
#   worker metrics        http://127.0.0.1:8081/metrics                  (WORKER_HTTP_ADDR)
#   identity provider     http://127.0.0.1:8095 (OpenID Connect)         (unless OIDC_ISSUER is set)
#
# Every variable of internal/platform/config is passed through, so each part can be
# switched to the real thing: DATABASE_URL=postgres://..., S3_ENDPOINT with
# S3_ACCESS_KEY/S3_SECRET_KEY/S3_BUCKET, TEMPORAL_ADDRESS, HMS_BASE_URL with
# HMS_ACCESS_KEY/HMS_APP_SECRET/HMS_TEMPLATE_ID. The programs are built once
# into .run/bin, their logs are prefixed with their names, and Ctrl-C (or any
# part dying) stops everything.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bin="$root/.run/bin"
data=${VKYC_DATA_DIR:-.run/dev}
tools="$root/.cache/bin"

# Fixed ports: the printed URLs, the demo and the docs rely on them.
TEMPORAL_PORT=7233
TEMPORAL_UI_PORT=8233
SIM_ADDR=127.0.0.1:8090
OIDC_ADDR=${DEVOIDC_ADDR:-127.0.0.1:8095}
HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8080}
WORKER_HTTP_ADDR=${WORKER_HTTP_ADDR:-127.0.0.1:8081}
export WORKER_HTTP_ADDR

# In development the simulator finishes a recording in about 3 s (100ms takes
# 9 s at the median), so a demo case reaches the audit quickly.
export HMSSIM_RECORDING_START_DELAY=${HMSSIM_RECORDING_START_DELAY:-1s}
export HMSSIM_RECORDING_READY_DELAY=${HMSSIM_RECORDING_READY_DELAY:-3s}

bold='' plain=''
if [ -t 2 ]; then
	bold=$(printf '\033[1m') plain=$(printf '\033[0m')
fi
log() { printf '%s[dev]%s %s\n' "$bold" "$plain" "$*" >&2; }

pids=()
declare -A names=()

# stop_all stops the parts in the reverse order of their start: the API
# first, so that nothing new reaches the worker while it drains (it lets
# running activities finish for up to 30 s), the services they use last.
stop_all() {
	local code=$? i pid deadline
	trap - EXIT INT TERM
	[ ${#pids[@]} -gt 0 ] && log "stopping"
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[$i]}
		kill -TERM "$pid" 2>/dev/null || continue
		deadline=$((SECONDS + 40))
		while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null && log "${names[$pid]} did not stop in time; killed"
		wait "$pid" 2>/dev/null || true
	done
	exit "$code"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

need_port() {
	local host=${1%:*} port=${1##*:} what=$2
	[ -n "$host" ] && [ "$host" != 0.0.0.0 ] || host=127.0.0.1
	if ! port_free "$host" "$port"; then
		log "port $port ($what) is in use: is another 'make dev' running? Stop it, or point $3 elsewhere."
		exit 1
	fi
}

# local_url turns a listen address into a URL this machine can call.
local_url() {
	local host=${1%:*} port=${1##*:}
	case "$host" in "" | 0.0.0.0 | "[::]") host=127.0.0.1 ;; esac
	echo "http://$host:$port"
}

# wait_until SECONDS WHAT CMD...: polls CMD; gives up early if a part died.
wait_until() {
	local secs=$1 what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		check_alive
		if [ $SECONDS -ge $deadline ]; then
			log "$what is not ready after ${secs}s"
			exit 1
		fi
		sleep 0.3
	done
}

check_alive() {
	local pid
	for pid in "${pids[@]}"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "${names[$pid]} exited during start-up (its log is above)"
			exit 1
		fi
	done
}

# prefix NAME COLOR: labels each line of a part's output. It ignores Ctrl-C
# and ends when its part closes its output: a labeller dying first would
# break the pipe and kill the part (Go exits on EPIPE to stdout) before it
# shuts down cleanly.
prefix() {
	trap '' INT TERM
	local label
	label=$(printf '%-9s|' "$1")
	if [ -t 1 ]; then
		label=$(printf '\033[%sm%s\033[0m' "$2" "$label")
	fi
	# A read loop passes each line on at once (awk and sed buffer a pipe).
	local line
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s %s\n' "$label" "$line"
	done
}

colors=(36 33 35 32 34 31)

# start NAME CMD...: runs CMD in the background with its output labelled.
start() {
	local name=$1
	shift
	local color=${colors[$((${#pids[@]} % ${#colors[@]}))]}
	"$@" > >(prefix "$name" "$color") 2>&1 &
	pids+=($!)
	names[$!]=$name
}

# ---- configuration ----------------------------------------------------------

start_temporal=0 start_s3=0 start_sim=0 start_oidc=0
[ -n "${TEMPORAL_ADDRESS:-}" ] || start_temporal=1
[ -n "${S3_ENDPOINT:-}" ] || start_s3=1
[ -n "${HMS_BASE_URL:-}" ] || start_sim=1
[ -n "${OIDC_ISSUER:-}" ] || start_oidc=1
# The pages' sign-in redirects to PUBLIC_BASE_URL: keep it the API's address.
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-$(local_url "$HTTP_ADDR")}

mkdir -p "$bin" "$data"
need_port "$HTTP_ADDR" API HTTP_ADDR
[ "$WORKER_HTTP_ADDR" = off ] || need_port "$WORKER_HTTP_ADDR" "worker metrics" WORKER_HTTP_ADDR
[ $start_temporal = 0 ] || { need_port 127.0.0.1:$TEMPORAL_PORT Temporal TEMPORAL_ADDRESS; need_port 127.0.0.1:$TEMPORAL_UI_PORT "Temporal UI" TEMPORAL_ADDRESS; }
[ $start_s3 = 0 ] || need_port 127.0.0.1:9000 "development S3" S3_ENDPOINT
[ $start_sim = 0 ] || need_port $SIM_ADDR "100ms simulator" HMS_BASE_URL
[ $start_oidc = 0 ] || need_port "$OIDC_ADDR" "identity provider" DEVOIDC_ADDR

# ---- build ------------------------------------------------------------------

# The pinned Temporal CLI and MinIO are built once (both at a time when both
# are needed: one core each).
if [ $start_temporal = 1 ] && [ $start_s3 = 1 ]; then
	"$root/scripts/tools.sh" all
elif [ $start_temporal = 1 ]; then
	"$root/scripts/tools.sh" temporal
elif [ $start_s3 = 1 ]; then
	"$root/scripts/tools.sh" minio
fi
log "building the programs into .run/bin"
go build -o "$bin/" ./api/server ./worker ./cmd/simulator ./starter ./cmd/devs3 ./cmd/devoidc
mv -f "$bin/server" "$bin/api"

# ---- dependencies -----------------------------------------------------------

if [ $start_temporal = 1 ]; then
	sa_args=()
	while IFS= read -r sa; do
		sa_args+=(--search-attribute "$sa")
	done < <(grep -Ev '^[[:space:]]*(#|$)' "$root/scripts/search-attributes.txt")
	# A database file keeps workflows across restarts of make dev; WAL and
	# synchronous=NORMAL make the SQLite store about 3x faster.
	# The Web UI shows the engine's sealed payloads through the API's codec
	# endpoint (sign in at /codec/sign-in first).
	start temporal "$tools/temporal" server start-dev --ip 127.0.0.1 --port $TEMPORAL_PORT --ui-port $TEMPORAL_UI_PORT \
		--ui-codec-endpoint "$(local_url "$HTTP_ADDR")/codec" \
		--db-filename "$data/temporal.db" --sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=NORMAL \
		--dynamic-config-value system.enableActivityEagerExecution=true \
		--log-level warn "${sa_args[@]}"
	export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
fi

if [ $start_s3 = 1 ]; then
	rm -f "$data/s3.ready"
	start s3 "$bin/devs3" -minio "$tools/minio" -ready-file "$data/s3.ready"
	wait_until 90 "the development S3 store" test -e "$data/s3.ready"
fi

if [ $start_sim = 1 ]; then
	# The simulator reads the engine's configuration: it uploads recordings
	# to the engine's bucket (with the development store's credentials when
	# that is in use) and delivers webhooks to the API with the secret header
	# the API checks.
	start sim env HMSSIM_ADDR=$SIM_ADDR \
		HMSSIM_WEBHOOK_URL="$(local_url "$HTTP_ADDR")/v1/webhooks/100ms" "$bin/simulator"
	wait_until 30 "the 100ms simulator" curl -fsS "http://$SIM_ADDR/sim/v1/faults"
	if [ -z "${HMS_TEMPLATE_ID:-}" ]; then
		# The same template a real account gets, so rooms record as in
		# production.
		HMS_TEMPLATE_ID=$("$bin/starter" template apply 2>/dev/null)
		export HMS_TEMPLATE_ID
		log "100ms template applied to the simulator: $HMS_TEMPLATE_ID"
	fi
fi

if [ $start_sim = 0 ] && [ -z "${HMS_TEMPLATE_ID:-}" ]; then
	log "warning: HMS_BASE_URL is set but HMS_TEMPLATE_ID is not: rooms get the account's default template," \
		"which may not record. Run '.run/bin/starter template apply' and set HMS_TEMPLATE_ID."
fi
if [ $start_sim = 0 ]; then
	log "100ms delivers webhooks to ${PUBLIC_BASE_URL:-http://127.0.0.1:8080}/v1/webhooks/100ms (PUBLIC_BASE_URL): it must reach this machine, e.g. through a tunnel."
fi

if [ $start_temporal = 1 ]; then
	wait_until 90 "the Temporal dev server" "$tools/temporal" operator namespace describe \
		--address "$TEMPORAL_ADDRESS" -n "${TEMPORAL_NAMESPACE:-default}"
fi

if [ $start_oidc = 1 ]; then
	# A real OpenID Connect provider (internal/bank/devoidc) with the development
	# people; the API accepts its tokens and the pages sign in with it.
	start oidc "$bin/devoidc" -addr "$OIDC_ADDR" -client vkyc-pages \
		-redirect "$PUBLIC_BASE_URL/app/agent,$PUBLIC_BASE_URL/app/audit"
	export OIDC_ISSUER="http://$OIDC_ADDR" OIDC_CLIENT_ID=vkyc-pages OIDC_SCOPES="openid profile" \
		OIDC_ROLE_MAP=${OIDC_ROLE_MAP:-vkyc-agents=agent,vkyc-auditors=auditor,vkyc-admins=admin}
	wait_until 30 "the identity provider" curl -fsS "$OIDC_ISSUER/.well-known/openid-configuration"
fi

# ---- the engine -------------------------------------------------------------

start worker "$bin/worker"
worker_pid=${pids[-1]}
start api "$bin/api"
api_url=$(local_url "$HTTP_ADDR")
wait_until 120 "the API (${api_url}/readyz)" curl -fsS "$api_url/readyz"

if [ -x "$tools/temporal" ]; then
	# The worker is ready when it polls its task queue (its identity is
	# <pid>@<host>@; pollers of an earlier run stay listed for a while).
	wait_until 60 "the worker" bash -c "'$tools/temporal' task-queue describe --address '$TEMPORAL_ADDRESS' \
		-n '${TEMPORAL_NAMESPACE:-default}' --task-queue '${TEMPORAL_TASK_QUEUE:-kyc-cases}' -o json |
		grep -q '\"identity\": \"$worker_pid@'"
fi

cat >&2 <<EOF

${bold}vKYC engine running${plain}
  API               $api_url   (/healthz, /readyz, /metrics; API under /v1)
  worker            $([ "$WORKER_HTTP_ADDR" = off ] && echo "no HTTP (WORKER_HTTP_ADDR=off)" || echo "$(local_url "$WORKER_HTTP_ADDR")   (/healthz, /readyz, /metrics)")
  Temporal          $TEMPORAL_ADDRESS$([ $start_temporal = 1 ] && echo ", Web UI http://127.0.0.1:$TEMPORAL_UI_PORT")
  object storage    $([ $start_s3 = 1 ] && echo "development S3 (MinIO) on 127.0.0.1:9000, bucket ${S3_BUCKET:-vkyc}, files in $data/s3" || echo "$S3_ENDPOINT, bucket ${S3_BUCKET:-vkyc}")
  database          $([ -n "${DATABASE_URL:-}" ] && echo "DATABASE_URL" || echo "SQLite $data/vkyc.db")
  100ms             $([ $start_sim = 1 ] && echo "simulator http://$SIM_ADDR (API /v2, participants /sim/v1), template $HMS_TEMPLATE_ID" || echo "$HMS_BASE_URL")
  identity provider $([ $start_oidc = 1 ] && echo "http://$OIDC_ADDR (OpenID Connect; users agent-7, agent-9, auditor-3, admin-1, password vkyc-dev-password)" || echo "$OIDC_ISSUER")
  agent console     $api_url/app/agent   (single sign-on as agent-7 / vkyc-dev-password, or development sign-in)
  auditor review    $api_url/app/audit   (single sign-on as auditor-3 / vkyc-dev-password)
  API description   $api_url/v1/openapi.json
  customer page     $api_url/app/join/<invite>, from POST /v1/cases/<id>/invites

Run one case from creation to approval (in another terminal, same environment):
  .run/bin/starter demo          # or: go run ./starter demo
Mint an API token:
  .run/bin/starter token --role agent --sub agent-7
Invite a customer to a case (the answer's "url" is the customer's join page):
  curl -s -X POST $api_url/v1/cases/<case id>/invites -H "Authorization: Bearer \$(.run/bin/starter token --role service --sub bank)"

Payloads in the Web UI are sealed (PAYLOAD_CODEC_KEYS); to read them, sign in with an admin token at
  $api_url/codec/sign-in   (.run/bin/starter token --role admin --sub admin-1)
and tick "Include cross-origin credentials" in the Web UI's Codec Server settings.

Ctrl-C stops everything.

EOF

# Run until Ctrl-C or until any part exits; then stop the rest.
set +e
wait -n "${pids[@]}"
code=$?
set -e
for pid in "${pids[@]}"; do
	if ! kill -0 "$pid" 2>/dev/null; then
		log "${names[$pid]} exited (status $code); stopping everything"
		break
	fi
done
exit 1
