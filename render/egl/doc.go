// Package egl creates a headless OpenGL 3.3 core context through EGL, with
// no window, no X11/Wayland and no surface: rendering goes to framebuffer
// objects and is read back with glReadPixels.
//
// # Choosing a display
//
// An explicit choice wins: Options.Platform, or else the EGL_PLATFORM
// environment variable ("device" or "surfaceless"). Otherwise Open tries
//
//  1. the EGL device platform (EGL_EXT_platform_device): it enumerates
//     devices with eglQueryDevicesEXT and takes the first one whose
//     extension string lacks EGL_MESA_device_software, i.e. a real GPU;
//  2. Mesa's surfaceless platform (EGL_MESA_platform_surfaceless), which on
//     a machine without a GPU is llvmpipe, Mesa's multithreaded software
//     rasteriser. (eglGetDisplay(EGL_DEFAULT_DISPLAY) is not used: Mesa
//     then tries X11 and fails on a headless host.)
//
// When the platform is chosen explicitly as "device", a software device is
// accepted if no hardware device exists.
//
// # GPU nodes
//
// On an NVIDIA node the path is the device platform. libEGL is GLVND's
// dispatcher, which loads vendor libraries listed by JSON files in
// /usr/share/glvnd/egl_vendor.d; the NVIDIA driver installs
// 10_nvidia.json pointing at libEGL_nvidia.so.0. In containers the file may
// be missing or elsewhere: set __EGL_VENDOR_LIBRARY_FILENAMES to the
// NVIDIA JSON file (for example .../10_nvidia.json) to force that vendor,
// and make sure the container exposes the GPU with graphics capability
// (NVIDIA_DRIVER_CAPABILITIES must include "graphics", not only
// "compute,utility"). The device platform needs no DRM render node
// permissions on NVIDIA; on Mesa GPUs (AMD/Intel) the process needs access
// to /dev/dri/renderD*. Info().Renderer tells which one was picked; a
// "llvmpipe" renderer on a GPU node means the GPU vendor library was not
// found.
//
// # Threads
//
// An EGL context is current on one OS thread. Open makes the context
// current on the calling thread, so the caller must have called
// runtime.LockOSThread and must make every GL call, and Close, from that
// same goroutine.
//
// Without cgo the package builds a stub whose Open fails with ErrNoCgo, so
// that pure-Go builds of everything above it still compile.
package egl
