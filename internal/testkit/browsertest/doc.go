// Package browsertest proves the pages in a real browser: Debian's Chromium,
// driven by chromedp, against the engine's API, worker and 100ms simulator
// as processes (internal/testkit/e2e) on real PostgreSQL, MinIO and Temporal. The
// customer's fake camera plays a generated test card, so the tests can check
// that a capture really is a frame of the customer's video.
package browsertest
