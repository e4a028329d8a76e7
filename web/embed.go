// Package web holds the pages people use (the customer's join page, the
// agent console, the auditor review and sign-in): TypeScript sources in
// src/, built by build.mjs with the pinned esbuild of package-lock.json into
// dist/, which is committed and embedded so that `go build` needs no npm.
// scripts/web.sh checks that a rebuild reproduces dist/ byte for byte.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Dist is the built pages: *.html at the top, scripts and styles in assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded above; fs.Sub cannot fail on it
	}
	return sub
}
