package builtin_test

import (
	"errors"
	"testing"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/builtin"
)

// TestBuiltin checks that the compiled-in back-end works, or that a build
// without cgo says clearly that it has none.
func TestBuiltin(t *testing.T) {
	enc, err := builtin.New(encoder.Config{Width: 64, Height: 64, FPS: 30, BitRate: 200_000})
	switch builtin.Name {
	case "none":
		if !errors.Is(err, encoder.ErrUnsupported) {
			t.Fatalf("New without cgo: %v, want ErrUnsupported", err)
		}
	case "x264", "openh264":
		if err != nil {
			t.Fatal(err)
		}
		_ = enc.Close()
	default:
		t.Errorf("Name = %q", builtin.Name)
	}
	if builtin.Factory.Name != builtin.Name {
		t.Errorf("Factory.Name = %q, Name = %q", builtin.Factory.Name, builtin.Name)
	}
}
