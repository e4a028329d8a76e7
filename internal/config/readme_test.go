package config

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryVariable keeps the README's configuration table in
// step with what Load reads.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, v := range Variables() {
		if !strings.Contains(readme, "| `"+v.Name+"` |") {
			t.Errorf("README.md has no configuration row for %s", v.Name)
		}
	}
}
