//go:build egl && cgo

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadSceneExitsWithStatus2: a --scene file that cannot be loaded stops
// the node at start-up with status 2 and one line naming the file and the
// reason.
func TestBadSceneExitsWithStatus2(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "broken.glb")
	if err := os.WriteFile(bad, []byte(`{"asset":{"version":"2.0"},"extensionsRequired":["KHR_draco_mesh_compression"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := buildNode(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--scene", bad}, 2, "broken.glb: required extension KHR_draco_mesh_compression"},
		{[]string{"--scene", filepath.Join(t.TempDir(), "missing.glb")}, 2, "missing.glb"},
		{[]string{"--scene-fit", "stretch"}, 1, "--scene-fit"},
	} {
		cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0", "--insecure-http", "--auth", "none", "--cert-dir", t.TempDir()}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
			t.Fatalf("%v: %v, want exit status %d; output %s", tc.args, err, tc.code, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if last := lines[len(lines)-1]; !strings.Contains(last, tc.want) || !strings.HasPrefix(last, "holocast-node: ") {
			t.Errorf("%v: last line %q, want it to name %q", tc.args, last, tc.want)
		}
	}
}
