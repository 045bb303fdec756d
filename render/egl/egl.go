//go:build cgo

package egl

/*
#cgo LDFLAGS: -lEGL
#include <stdlib.h>
#include <string.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif
#ifndef EGL_PLATFORM_DEVICE_EXT
#define EGL_PLATFORM_DEVICE_EXT 0x313F
#endif

typedef EGLDisplay (*holo_getPlatformDisplay)(EGLenum, void*, const EGLint*);
typedef EGLBoolean (*holo_queryDevices)(EGLint, EGLDeviceEXT*, EGLint*);
typedef const char* (*holo_queryDeviceString)(EGLDeviceEXT, EGLint);
typedef const unsigned char* (*holo_glGetString)(unsigned int);

static EGLDisplay holo_platform_display(EGLenum platform, void* native) {
	holo_getPlatformDisplay f = (holo_getPlatformDisplay)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (f == NULL) {
		return EGL_NO_DISPLAY;
	}
	return f(platform, native, NULL);
}

// holo_query_devices fills devs (capacity max) and returns the count, or -1.
static int holo_query_devices(EGLDeviceEXT* devs, int max) {
	holo_queryDevices f = (holo_queryDevices)eglGetProcAddress("eglQueryDevicesEXT");
	if (f == NULL) {
		return -1;
	}
	EGLint n = 0;
	if (!f(max, devs, &n)) {
		return -1;
	}
	return n;
}

static const char* holo_device_string(EGLDeviceEXT dev, EGLint name) {
	holo_queryDeviceString f = (holo_queryDeviceString)eglGetProcAddress("eglQueryDeviceStringEXT");
	if (f == NULL) {
		return NULL;
	}
	return f(dev, name);
}

static const char* holo_gl_string(unsigned int name) {
	holo_glGetString f = (holo_glGetString)eglGetProcAddress("glGetString");
	if (f == NULL) {
		return NULL;
	}
	return (const char*)f(name);
}

static EGLConfig holo_choose_config(EGLDisplay dpy, EGLint surfaceType, EGLint* ok) {
	EGLint attrs[] = {
		EGL_SURFACE_TYPE, surfaceType,
		EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
		EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8, EGL_ALPHA_SIZE, 8,
		EGL_NONE,
	};
	EGLConfig cfg = NULL;
	EGLint n = 0;
	*ok = eglChooseConfig(dpy, attrs, &cfg, 1, &n) && n > 0;
	return cfg;
}

static EGLContext holo_create_context(EGLDisplay dpy, EGLConfig cfg, EGLint major, EGLint minor) {
	EGLint attrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, major,
		EGL_CONTEXT_MINOR_VERSION, minor,
		EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		EGL_NONE,
	};
	return eglCreateContext(dpy, cfg, EGL_NO_CONTEXT, attrs);
}

static EGLBoolean holo_make_current(EGLDisplay dpy, EGLContext ctx) {
	return eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx);
}

static EGLBoolean holo_release_current(EGLDisplay dpy) {
	return eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"
)

// Context is a current, surfaceless OpenGL 3.3 core context.
type Context struct {
	dpy  C.EGLDisplay
	ctx  C.EGLContext
	info Info
	done bool
}

func eglErr(op string) error {
	return &Error{Op: op, Code: int(C.eglGetError())}
}

// displays counts the contexts open on each EGLDisplay. eglGetPlatformDisplay
// returns the same handle for the same arguments, and eglTerminate would
// break every other context on it, so a display is initialised once and
// terminated when its last context closes.
var (
	displaysMu sync.Mutex
	displays   = map[C.EGLDisplay]int{}
)

func acquireDisplay(dpy C.EGLDisplay) error {
	displaysMu.Lock()
	defer displaysMu.Unlock()
	if displays[dpy] == 0 {
		var major, minor C.EGLint
		if C.eglInitialize(dpy, &major, &minor) == C.EGL_FALSE {
			return eglErr("eglInitialize")
		}
	}
	displays[dpy]++
	return nil
}

func releaseDisplay(dpy C.EGLDisplay) error {
	displaysMu.Lock()
	defer displaysMu.Unlock()
	displays[dpy]--
	if displays[dpy] > 0 {
		return nil
	}
	delete(displays, dpy)
	if C.eglTerminate(dpy) == C.EGL_FALSE {
		return eglErr("eglTerminate")
	}
	return nil
}

func goStr(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// ClientExtensions returns EGL's client extension string (empty when the
// implementation has none).
func ClientExtensions() string {
	return goStr(C.eglQueryString(C.EGLDisplay(C.EGL_NO_DISPLAY), C.EGL_EXTENSIONS))
}

// Open creates a display, an OpenGL 3.3 core context and makes it current on
// the calling OS thread with no surface. See the package doc for the order in
// which platforms are tried.
func Open(opts Options) (*Context, error) {
	p := opts.Platform
	explicit := p != PlatformAuto
	if !explicit {
		switch env := Platform(strings.ToLower(os.Getenv("EGL_PLATFORM"))); env {
		case PlatformDevice, PlatformSurfaceless:
			p, explicit = env, true
		}
	}
	switch p {
	case PlatformDevice, PlatformSurfaceless:
		c, err := open(p, explicit)
		if err != nil {
			return nil, fmt.Errorf("egl: %s platform: %w", p, err)
		}
		return c, nil
	case PlatformAuto:
		c, derr := open(PlatformDevice, false)
		if derr == nil {
			return c, nil
		}
		c, serr := open(PlatformSurfaceless, false)
		if serr != nil {
			return nil, fmt.Errorf("egl: device platform: %w; surfaceless platform: %w", derr, serr)
		}
		return c, nil
	default:
		return nil, fmt.Errorf("egl: unknown platform %q (want %q or %q)", p, PlatformDevice, PlatformSurfaceless)
	}
}

func open(p Platform, allowSoftware bool) (*Context, error) {
	exts := ClientExtensions()
	c := &Context{info: Info{Platform: p}}
	switch p {
	case PlatformSurfaceless:
		if !hasExt(exts, "EGL_MESA_platform_surfaceless") {
			return nil, errors.New("EGL_MESA_platform_surfaceless not supported")
		}
		c.dpy = C.holo_platform_display(C.EGL_PLATFORM_SURFACELESS_MESA, nil)
	case PlatformDevice:
		if !hasExt(exts, "EGL_EXT_platform_device") || !hasExt(exts, "EGL_EXT_device_enumeration") && !hasExt(exts, "EGL_EXT_device_base") {
			return nil, fmt.Errorf("%w: EGL_EXT_platform_device or device enumeration not supported", ErrNoDevice)
		}
		dev, name, err := pickDevice(allowSoftware)
		if err != nil {
			return nil, err
		}
		c.info.Device = name
		c.dpy = C.holo_platform_display(C.EGL_PLATFORM_DEVICE_EXT, unsafe.Pointer(dev))
	}
	if c.dpy == C.EGLDisplay(C.EGL_NO_DISPLAY) {
		return nil, eglErr("eglGetPlatformDisplayEXT")
	}
	if err := acquireDisplay(c.dpy); err != nil {
		return nil, err
	}
	if err := c.create(); err != nil {
		_ = releaseDisplay(c.dpy)
		return nil, err
	}
	return c, nil
}

func (c *Context) create() error {
	c.info.EGLVendor = goStr(C.eglQueryString(c.dpy, C.EGL_VENDOR))
	c.info.EGLVersion = goStr(C.eglQueryString(c.dpy, C.EGL_VERSION))
	if C.eglBindAPI(C.EGL_OPENGL_API) == C.EGL_FALSE {
		return eglErr("eglBindAPI(EGL_OPENGL_API)")
	}
	var ok C.EGLint
	cfg := C.holo_choose_config(c.dpy, C.EGL_PBUFFER_BIT, &ok)
	if ok == 0 {
		// Some surfaceless implementations expose configs without
		// pbuffer support; no surface is needed anyway.
		cfg = C.holo_choose_config(c.dpy, 0, &ok)
	}
	if ok == 0 {
		return fmt.Errorf("eglChooseConfig: no RGBA8 OpenGL config: %w", eglErr("eglChooseConfig"))
	}
	c.ctx = C.holo_create_context(c.dpy, cfg, 3, 3)
	if c.ctx == C.EGLContext(C.EGL_NO_CONTEXT) {
		return fmt.Errorf("OpenGL 3.3 core: %w", eglErr("eglCreateContext"))
	}
	if C.holo_make_current(c.dpy, c.ctx) == C.EGL_FALSE {
		err := eglErr("eglMakeCurrent")
		C.eglDestroyContext(c.dpy, c.ctx)
		return err
	}
	c.info.Vendor = goStr(C.holo_gl_string(C.uint(0x1F00)))   // GL_VENDOR
	c.info.Renderer = goStr(C.holo_gl_string(C.uint(0x1F01))) // GL_RENDERER
	c.info.Version = goStr(C.holo_gl_string(C.uint(0x1F02)))  // GL_VERSION
	return nil
}

// pickDevice returns the first hardware EGL device, or with allowSoftware
// the first device of any kind.
func pickDevice(allowSoftware bool) (C.EGLDeviceEXT, string, error) {
	var devs [32]C.EGLDeviceEXT
	n := int(C.holo_query_devices(&devs[0], C.int(len(devs))))
	if n < 0 {
		return nil, "", fmt.Errorf("%w: %w", ErrNoDevice, eglErr("eglQueryDevicesEXT"))
	}
	var soft C.EGLDeviceEXT
	for _, d := range devs[:n] {
		ext := goStr(C.holo_device_string(d, C.EGL_EXTENSIONS))
		if hasExt(ext, "EGL_MESA_device_software") {
			if soft == nil {
				soft = d
			}
			continue
		}
		return d, deviceName(d, ext), nil
	}
	if allowSoftware && soft != nil {
		return soft, "software", nil
	}
	return nil, "", fmt.Errorf("%w: %d device(s), none is a hardware GPU", ErrNoDevice, n)
}

func deviceName(d C.EGLDeviceEXT, ext string) string {
	const eglDRMDeviceFileEXT = 0x3233
	if hasExt(ext, "EGL_EXT_device_drm") {
		if s := goStr(C.holo_device_string(d, eglDRMDeviceFileEXT)); s != "" {
			return s
		}
	}
	return "hardware"
}

func hasExt(list, name string) bool {
	for _, e := range strings.Fields(list) {
		if e == name {
			return true
		}
	}
	return false
}

// Info returns what was opened.
func (c *Context) Info() Info { return c.info }

// GetProcAddress returns the address of a GL or EGL function, for
// gl.InitWithProcAddrFunc. It returns nil for unknown names.
func (c *Context) GetProcAddress(name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return unsafe.Pointer(C.eglGetProcAddress(cs))
}

// MakeCurrent makes the context current on the calling OS thread (Open
// already did this on the thread that called it).
func (c *Context) MakeCurrent() error {
	if c.done {
		return errors.New("egl: context is closed")
	}
	if C.holo_make_current(c.dpy, c.ctx) == C.EGL_FALSE {
		return fmt.Errorf("egl: %w", eglErr("eglMakeCurrent"))
	}
	return nil
}

// Close releases the context from the calling thread, destroys it and
// terminates the display when no other Context uses it. It must be called
// on the thread the context is current on. Calling Close again is a no-op.
func (c *Context) Close() error {
	if c.done {
		return nil
	}
	c.done = true
	var errs []error
	if C.holo_release_current(c.dpy) == C.EGL_FALSE {
		errs = append(errs, eglErr("eglMakeCurrent(EGL_NO_CONTEXT)"))
	}
	if C.eglDestroyContext(c.dpy, c.ctx) == C.EGL_FALSE {
		errs = append(errs, eglErr("eglDestroyContext"))
	}
	if err := releaseDisplay(c.dpy); err != nil {
		errs = append(errs, err)
	}
	C.eglReleaseThread()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("egl: close: %w", err)
	}
	return nil
}
