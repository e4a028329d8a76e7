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
	f, err := os.Create(out) // #nosec G304 -- a file in the test's own temporary directory
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	add := func(name string, b []byte) {
		w, err := zw.Create(name)
		if err == nil {
			_, err = w.Write(b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range zr.File {
		b, err := read(e)
		if err != nil {
			t.Fatal(err)
		}
		if b = change(e.Name, b); b != nil {
			add(e.Name, b)
		}
	}
	for name, b := range extra {
		add(name, b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func read(e *zip.File) ([]byte, error) {
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
