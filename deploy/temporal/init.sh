#!/bin/sh
# Creates the namespace and registers the case search attributes (the list in
# scripts/search-attributes.txt, mounted at $SEARCH_ATTRIBUTES_FILE), so the
# worker can start cases and operators can filter them in the Web UI. Safe to
# run again: existing namespace and attributes are left as they are. Run by
# docker-compose.yml's temporal-init and by scripts/prod-local.sh.
set -eu

: "${TEMPORAL_ADDRESS:?}"
ns=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_NAMESPACE_RETENTION:-30d}
file=${SEARCH_ATTRIBUTES_FILE:-/etc/vkyc/search-attributes.txt}

tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
	tries=$((tries + 1))
	[ "$tries" -lt 120 ] || { echo "Temporal at $TEMPORAL_ADDRESS is not healthy"; exit 1; }
	sleep 1
done

if ! temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$ns" >/dev/null 2>&1; then
	temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$ns" --retention "$retention"
fi

# A namespace just created is in the database at once but reaches the
# frontend's namespace cache only on its next refresh (up to about 10 s):
# until then calls naming it answer "Namespace ... is not found". Wait
# until it is served before registering the attributes.
tries=0
until existing=$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$ns" 2>&1); do
	tries=$((tries + 1))
	[ "$tries" -lt 60 ] || { echo "namespace $ns is still not served after 60 s: $existing"; exit 1; }
	[ "$tries" -gt 1 ] || echo "namespace $ns is not served yet; waiting"
	sleep 1
done

grep -Ev '^[[:space:]]*(#|$)' "$file" | while IFS='=' read -r name type; do
	if printf '%s\n' "$existing" | grep -qw "$name"; then
		echo "search attribute $name exists"
		continue
	fi
	temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$ns" --name "$name" --type "$type"
done

# The engine starts once this exits: wait until every attribute is served.
tries=0
while :; do
	listed=$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$ns" 2>&1 || true)
	missing=$(grep -Ev '^[[:space:]]*(#|$)' "$file" | cut -d= -f1 | while read -r name; do
		printf '%s\n' "$listed" | grep -qw "$name" || echo "$name"
	done)
	[ -z "$missing" ] && break
	tries=$((tries + 1))
	[ "$tries" -lt 60 ] || { echo "search attributes not served after 60 s:" $missing; exit 1; }
	sleep 1
done
# Listed is not yet usable: the frontend validates a new workflow's search
# attributes against its namespace cache, which learns of new ones on its next
# refresh (up to about 10 s); until then a start naming them fails with "has
# no mapping defined for search attribute". A query naming every attribute
# goes through that same cache: wait until it answers.
query=$(grep -Ev '^[[:space:]]*(#|$)' "$file" | while IFS='=' read -r name type; do
	case "$type" in
	Int | Double) value=0 ;;
	Bool) value=false ;;
	Datetime) value="'1970-01-01T00:00:00Z'" ;;
	*) value="''" ;;
	esac
	printf '%s = %s\n' "$name" "$value"
done | awk 'NR > 1 { printf " AND " } { printf "%s", $0 }')
tries=0
until answer=$(temporal workflow count --address "$TEMPORAL_ADDRESS" -n "$ns" --query "$query" 2>&1); do
	tries=$((tries + 1))
	[ "$tries" -lt 60 ] || { echo "search attributes not usable in queries after 60 s: $answer"; exit 1; }
	[ "$tries" -gt 1 ] || echo "search attributes not usable yet; waiting"
	sleep 1
done
echo "namespace $ns and search attributes ready"
