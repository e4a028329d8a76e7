# syntax=docker/dockerfile:1
# One build for every program of the engine; docker-compose.yml picks a target:
#   api, worker, simulator, starter   the engine's programs (alpine, non-root)
#   minio                             MinIO built from source (see below)
ARG GO_VERSION=1.26.8
ARG ALPINE_VERSION=3.22

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# One go build for all four programs shares the compilation of the packages
# they have in common.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	go build -trimpath -ldflags='-s -w' -o /out/ ./api/server ./worker ./cmd/simulator ./starter && \
	mv /out/server /out/api

# The programs need CA certificates (100ms, TLS to PostgreSQL and S3) and time
# zone data; curl serves the container health checks. They run as an
# unprivileged user with no home and no shell login.
FROM alpine:${ALPINE_VERSION} AS runtime
RUN apk add --no-cache ca-certificates tzdata curl && \
	addgroup -S -g 10001 vkyc && adduser -S -D -H -u 10001 -G vkyc -s /sbin/nologin vkyc
USER 10001:10001

FROM runtime AS api
COPY --from=build /out/api /usr/local/bin/api
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/api"]

FROM runtime AS worker
COPY --from=build /out/worker /usr/local/bin/worker
ENTRYPOINT ["/usr/local/bin/worker"]

FROM runtime AS simulator
COPY --from=build /out/simulator /usr/local/bin/simulator
EXPOSE 8090
ENTRYPOINT ["/usr/local/bin/simulator"]

FROM runtime AS starter
COPY --from=build /out/starter /usr/local/bin/starter
ENTRYPOINT ["/usr/local/bin/starter"]

# MinIO's community edition is distributed as source only (no maintained
# images), so it is built here at the version scripts/tools.sh pins for the
# tests (deploy/compose_test.go keeps the two equal).
FROM golang:${GO_VERSION}-alpine AS minio-build
ARG MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	GOBIN=/out go install -trimpath -ldflags='-s -w' github.com/minio/minio@${MINIO_VERSION}

FROM runtime AS minio
COPY --from=minio-build /out/minio /usr/local/bin/minio
COPY --chmod=0555 deploy/minio/init.sh /usr/local/bin/minio-init
# A named volume mounted on /data takes this ownership when it is created.
USER root
RUN install -d -o 10001 -g 10001 -m 0700 /data
USER 10001:10001
EXPOSE 9000
ENTRYPOINT ["/usr/local/bin/minio"]
