package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// testdata/fixtures is a copy of ../shared/fixtures (public Azure DevOps REST examples
// and Slack's manifest schema) so a clone runs its tests on its own. Where shared/ sits
// beside the clone, as in CI, the copy must not have drifted from it.
func TestFixturesMatchShared(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "fixtures")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no ../shared beside this clone (%v): nothing to compare", err)
	}
	ours := filepath.Join("..", "..", "testdata", "fixtures")
	n := 0
	err := filepath.WalkDir(shared, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(shared, p)
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(ours, rel))
		if err != nil {
			t.Errorf("testdata/fixtures/%s is missing: copy it from ../shared/fixtures", rel)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/fixtures/%s differs from ../shared/fixtures/%s: copy it again", rel, rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("../shared/fixtures is empty")
	}
}
