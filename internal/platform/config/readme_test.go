package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

const readmePath = "../../../README.md"

// readmeTable renders Variables as the README's configuration table.
func readmeTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, v := range Variables() {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", v.Name, v.Default, v.Meaning)
	}
	return b.String()
}

// TestReadmeTableIsGenerated keeps the README's configuration table equal
// to what Config's tags declare. To regenerate it:
//
//	VKYC_WRITE_README=1 go test ./internal/platform/config -run TestReadmeTableIsGenerated
func TestReadmeTableIsGenerated(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "| variable | default | meaning |\n")
	if start < 0 {
		t.Fatal("README.md has no configuration table")
	}
	end := strings.Index(readme[start:], "\n\n")
	if end < 0 {
		t.Fatal("README.md's configuration table does not end with a blank line")
	}
	end += start + 1
	want := readmeTable()
	if readme[start:end] == want {
		return
	}
	if os.Getenv("VKYC_WRITE_README") == "1" {
		if err := os.WriteFile(readmePath, []byte(readme[:start]+want+readme[end:]), 0o644); err != nil { // #nosec G306 -- a file of the repository
			t.Fatal(err)
		}
		t.Log("README.md's configuration table rewritten")
		return
	}
	got := strings.Split(readme[start:end], "\n")
	for i, line := range strings.Split(want, "\n") {
		if i >= len(got) || got[i] != line {
			t.Errorf("README.md's configuration table differs from Config's tags at row %d:\n got  %s\n want %s", i-1, at(got, i), line)
			break
		}
	}
	t.Error("regenerate it: VKYC_WRITE_README=1 go test ./internal/platform/config -run TestReadmeTableIsGenerated")
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(nothing)"
}
