# The README's two commands are `make dev` and `make test`.
.PHONY: dev test services sim tools vet fuzz clean

# Run the whole system locally: Temporal dev server + Web UI, MinIO as the S3
# store, embedded SQLite, the 100ms simulator, the worker and the API.
dev:
	@scripts/dev.sh

# Every test against real PostgreSQL, MinIO and the Temporal dev server, which
# this command builds (once) and starts.
test:
	@scripts/services.sh run -- scripts/test.sh

# docker-compose.yml's production topology without Docker: PostgreSQL, the
# real Temporal server on it with its Web UI, MinIO, two workers, two API
# replicas behind HAProxy on 127.0.0.1:8080, and the 100ms simulator. Builds
# the pinned Temporal server (minutes, once).
.PHONY: prod-local
prod-local:
	@scripts/prod-local.sh

# Start the real services and keep them running (variables in .run/services.env).
services:
	@scripts/services.sh up

# Run the 100ms simulator alone.
sim:
	@go run ./cmd/simulator

# Build the pinned Temporal CLI and MinIO once.
tools:
	@scripts/tools.sh all

# Run each fuzz target for FUZZTIME (default 5m).
fuzz:
	@scripts/fuzz.sh

# The reliability and security proof: hostile requests, the log and storage
# checks of a whole run, and the fault suite (cmd/chaos/; class 9 on the
# production topology of make prod-local), which writes docs/RELIABILITY.md.
# CHAOS_CASES, CHAOS_CLASSES narrow the fault suite.
.PHONY: chaos
chaos:
	@scripts/services.sh run -- scripts/chaos.sh

# Rebuild the pages (web/dist, embedded in the API) after changing web/src or web/static.
.PHONY: web
web:
	@scripts/web.sh build

clean:
	rm -rf .run

# Benchmarks against fresh real services: prints a table of figures next to
# baselines measured in the same run and writes docs/BENCHMARKS.md and
# docs/bench-results.json. BENCH_ARGS="-quick" for a short run.
.PHONY: bench
bench:
	@scripts/bench.sh $(BENCH_ARGS)
