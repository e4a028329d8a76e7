#!/bin/sh
# Creates the engine's bucket with a SigV4-signed PUT, as scripts/services.sh
# does for tests (MinIO no longer publishes an mc image; curl signs S3 requests
# itself). 409 means the bucket exists. The bucket stays private: the engine
# refuses to start on a bucket with a public policy.
set -eu

: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${S3_BUCKET:?}"
endpoint=${MINIO_ENDPOINT:-http://minio:9000}
region=${S3_REGION:-us-east-1}

until curl -fsS "$endpoint/minio/health/ready" >/dev/null; do
	echo "waiting for MinIO at $endpoint"
	sleep 1
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:$region:s3" \
	--user "$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD" "$endpoint/$S3_BUCKET")
case "$code" in
200 | 409) echo "bucket $S3_BUCKET ready" ;;
*) echo "creating bucket $S3_BUCKET failed: HTTP $code"; exit 1 ;;
esac
