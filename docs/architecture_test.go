// Package docs holds the test that keeps docs/ARCHITECTURE.md's folder table
// true to the tree.
package docs

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// checkedLevels are the folders the table must list, each as a glob below
// the repository: every top-level folder, every group of internal/ and every
// program of cmd/.
var checkedLevels = []string{"*", "internal/*", "cmd/*"}

// row matches the first cell of a table row naming a folder: | `name/` |.
var row = regexp.MustCompile("^\\| `([a-z0-9_./-]+)/` \\|")

// TestFolderTable: every folder the table names exists, and every folder of
// the checked levels is named, so that the table cannot drift from the tree.
func TestFolderTable(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			if listed[m[1]] {
				t.Errorf("ARCHITECTURE.md lists %s/ twice", m[1])
			}
			listed[m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(listed) == 0 {
		t.Fatal("ARCHITECTURE.md has no folder table")
	}
	for dir := range listed {
		if st, err := os.Stat(filepath.Join(root, dir)); err != nil || !st.IsDir() {
			t.Errorf("ARCHITECTURE.md lists %s/, which is not a folder of the tree", dir)
		}
	}
	ignored := gitIgnoredTopLevel(t, root)
	for _, level := range checkedLevels {
		matches, err := filepath.Glob(filepath.Join(root, level))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(root, m)
			rel = filepath.ToSlash(rel)
			if st, err := os.Stat(m); err != nil || !st.IsDir() || strings.HasPrefix(filepath.Base(rel), ".") || slices.Contains(ignored, rel) {
				continue
			}
			if !listed[rel] {
				t.Errorf("%s/ is not in ARCHITECTURE.md's folder table", rel)
			}
		}
	}
}

// gitIgnoredTopLevel reads the top-level folders .gitignore names (/bin/):
// build output a checkout may have, never part of the tree.
func gitIgnoredTopLevel(t *testing.T, root string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "/"); ok && strings.HasSuffix(name, "/") && !strings.Contains(strings.TrimSuffix(name, "/"), "/") {
			out = append(out, strings.TrimSuffix(name, "/"))
		}
	}
	return out
}
