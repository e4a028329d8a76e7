// Package packtest rewrites evidence packs (zip files) for the tests that
// check that a tampered pack fails verification: the evidence package's and
// the starter's.
package packtest

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Rewrite copies the pack at src into a new file of t's and returns its
// path. change gives each entry's new content (nil drops the entry); extra
// entries are added after the others.
func Rewrite(t testing.TB, src string, change func(name string, b []byte) []byte, extra map[string][]byte) string {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := filepath.Join(t.TempDir(), "tampered.zip")
	f, _ := os.Create(out)
	zw := zip.NewWriter(f)
	for _, e := range zr.File {
		rc, _ := e.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if b = change(e.Name, b); b == nil {
			continue
		}
		w, _ := zw.Create(e.Name)
		_, _ = w.Write(b)
	}
	for name, b := range extra {
		w, _ := zw.Create(name)
		_, _ = w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return out
}
