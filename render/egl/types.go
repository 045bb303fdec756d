package egl

import "fmt"

// Platform names an EGL platform.
type Platform string

// Platforms Open knows.
const (
	// PlatformAuto tries PlatformDevice with a hardware device, then
	// PlatformSurfaceless.
	PlatformAuto Platform = ""
	// PlatformDevice is EGL_EXT_platform_device: render on a device
	// enumerated by eglQueryDevicesEXT, with no window system.
	PlatformDevice Platform = "device"
	// PlatformSurfaceless is EGL_MESA_platform_surfaceless.
	PlatformSurfaceless Platform = "surfaceless"
)

// Options configure Open. The zero value picks the platform automatically
// and asks for OpenGL 3.3 core.
type Options struct {
	// Platform forces a platform. When empty, the EGL_PLATFORM
	// environment variable is honoured if it names a known platform.
	Platform Platform
}

// Info describes an open context.
type Info struct {
	// Platform is the EGL platform used.
	Platform Platform
	// Device is the EGL device's DRM node or driver name when the device
	// platform was used, empty otherwise.
	Device string
	// Vendor, Renderer and Version are GL_VENDOR, GL_RENDERER and
	// GL_VERSION of the context.
	Vendor, Renderer, Version string
	// EGLVendor and EGLVersion are EGL_VENDOR and EGL_VERSION.
	EGLVendor, EGLVersion string
}

// Error is an EGL failure with its eglGetError code.
type Error struct {
	Op   string
	Code int
}

// Error implements error, naming the code, e.g.
// "eglInitialize failed: EGL_NOT_INITIALIZED (0x3001)".
func (e *Error) Error() string {
	return fmt.Sprintf("%s failed: %s (0x%04X)", e.Op, ErrorName(e.Code), e.Code)
}

// ErrorName returns the symbolic name of an EGL error code.
func ErrorName(code int) string {
	names := map[int]string{
		0x3000: "EGL_SUCCESS",
		0x3001: "EGL_NOT_INITIALIZED",
		0x3002: "EGL_BAD_ACCESS",
		0x3003: "EGL_BAD_ALLOC",
		0x3004: "EGL_BAD_ATTRIBUTE",
		0x3005: "EGL_BAD_CONFIG",
		0x3006: "EGL_BAD_CONTEXT",
		0x3007: "EGL_BAD_CURRENT_SURFACE",
		0x3008: "EGL_BAD_DISPLAY",
		0x3009: "EGL_BAD_MATCH",
		0x300A: "EGL_BAD_NATIVE_PIXMAP",
		0x300B: "EGL_BAD_NATIVE_WINDOW",
		0x300C: "EGL_BAD_PARAMETER",
		0x300D: "EGL_BAD_SURFACE",
		0x300E: "EGL_CONTEXT_LOST",
	}
	if n, ok := names[code]; ok {
		return n
	}
	return "unknown EGL error"
}
