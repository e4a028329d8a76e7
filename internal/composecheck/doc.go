// Package composecheck holds the test that validates docker-compose.yml, the
// Dockerfile and the deployment support files in deploy/ against what the
// programs really read: no Docker engine is needed, so CI catches a renamed
// variable, a missing service or a broken dependency before anyone runs
// `docker compose up`. The compose file is loaded with compose-go, the
// library Docker Compose itself uses, so interpolation, merge keys, profiles
// and dependency consistency behave exactly as they would there.
package composecheck
