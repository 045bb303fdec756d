package glrender

import "errors"

// Sentinel errors.
var (
	// ErrClosed is returned by calls on a closed Worker or Renderer.
	ErrClosed = errors.New("glrender: closed")
	// ErrNoGL is returned by NewWorker in builds without the "egl" tag or
	// without cgo, which have no OpenGL.
	ErrNoGL = errors.New("glrender: built without OpenGL support (build with cgo and -tags egl)")
	// ErrNoEGL is wrapped by NewWorker's error when the machine gives it
	// no EGL context or no GL functions: rendering cannot run here at
	// all, as opposed to a failure of the renderer's own (a shader that
	// does not compile).
	ErrNoEGL = errors.New("glrender: no EGL context")
)
