//go:build cgo

package egl

import (
	"runtime"
	"strings"
	"testing"
)

func openOrSkip(t *testing.T, o Options) *Context {
	t.Helper()
	c, err := Open(o)
	if err != nil {
		t.Skipf("EGL initialisation failed: %v", err)
	}
	return c
}

func TestOpenAuto(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c := openOrSkip(t, Options{})
	info := c.Info()
	t.Logf("platform=%s device=%q renderer=%q vendor=%q version=%q egl=%q %q",
		info.Platform, info.Device, info.Renderer, info.Vendor, info.Version, info.EGLVendor, info.EGLVersion)
	if info.Renderer == "" || info.Version == "" {
		t.Errorf("empty GL strings: %+v", info)
	}
	if !strings.HasPrefix(info.Version, "3.3") && !strings.HasPrefix(info.Version, "4.") {
		t.Errorf("GL version %q, want 3.3+ core", info.Version)
	}
	if c.GetProcAddress("glGenFramebuffers") == nil {
		t.Error("GetProcAddress(glGenFramebuffers) = nil")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenExplicit(t *testing.T) {
	for _, p := range []Platform{PlatformSurfaceless, PlatformDevice} {
		t.Run(string(p), func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c, err := Open(Options{Platform: p})
			if err != nil {
				t.Skipf("EGL %s platform unavailable: %v", p, err)
			}
			defer c.Close()
			if c.Info().Platform != p {
				t.Errorf("platform %q, want %q", c.Info().Platform, p)
			}
			t.Logf("%+v", c.Info())
		})
	}
}

func TestEnvPlatform(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t.Setenv("EGL_PLATFORM", "surfaceless")
	c := openOrSkip(t, Options{})
	defer c.Close()
	if c.Info().Platform != PlatformSurfaceless {
		t.Errorf("EGL_PLATFORM=surfaceless gave %q", c.Info().Platform)
	}
}

func TestUnknownPlatform(t *testing.T) {
	if _, err := Open(Options{Platform: "x11"}); err == nil {
		t.Error("want error for unknown platform")
	}
}

// TestSharedDisplay opens two contexts on the same display and closes them
// in turn: closing the first must not terminate the display under the
// second.
func TestSharedDisplay(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	a := openOrSkip(t, Options{Platform: PlatformSurfaceless})
	b, err := Open(Options{Platform: PlatformSurfaceless})
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.MakeCurrent(); err != nil {
		t.Fatalf("second context after first closed: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestErrorName(t *testing.T) {
	if ErrorName(0x3008) != "EGL_BAD_DISPLAY" || ErrorName(1) != "unknown EGL error" {
		t.Error("ErrorName")
	}
	e := &Error{Op: "eglInitialize", Code: 0x3001}
	if !strings.Contains(e.Error(), "EGL_NOT_INITIALIZED") {
		t.Error(e.Error())
	}
}
