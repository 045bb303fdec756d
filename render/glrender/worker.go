//go:build egl && cgo

package glrender

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/edf"
	"github.com/holocast/holocast/render/egl"
	"github.com/holocast/holocast/render/scene"
)

// Info describes the GL context of a Worker.
type Info struct {
	// Platform is the EGL platform ("device" or "surfaceless").
	Platform string
	// Device is the EGL device (DRM node, "software" or "hardware") when
	// the device platform is used.
	Device string
	// Vendor, Renderer and Version are the GL strings, e.g. "Mesa",
	// "llvmpipe (LLVM 15.0.6, 256 bits)", "4.5 (Core Profile) Mesa 22.3.6".
	Vendor, Renderer, Version string
}

// Worker owns one EGL/OpenGL context and the goroutine, locked to its OS
// thread, on which all its GL calls run. Renderers made by one Worker
// render one frame at a time, earliest deadline first (Renderer.RenderBy;
// a plain Render and the setup work have no deadline and go first, in
// the order they arrive). A Worker is safe for concurrent use.
type Worker struct {
	jobs *edf.Queue
	quit chan struct{}
	done chan struct{}

	closeOnce sync.Once
	closeErr  error // set by the worker goroutine before done is closed

	info Info

	// Owned by the worker goroutine.
	progs  *programs
	models map[*scene.Model]*gpuModel // uploaded models, shared by Renderers
}

// glInit loads GL function pointers once per process. They are looked up
// through eglGetProcAddress and do not depend on the context (GLVND and
// Mesa both return dispatch stubs), so Workers share them.
var (
	glInitOnce sync.Once
	glInitErr  error
)

// NewWorker starts a Worker: a goroutine locked to its OS thread that opens
// a headless EGL OpenGL 3.3 core context and then runs GL work sent by
// Renderers. It returns once the context is ready, or with the error that
// prevented it. The Worker stops when Close is called or ctx is done.
func NewWorker(ctx context.Context, opts ...Option) (*Worker, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	w := &Worker{
		jobs: edf.New(),
		quit: make(chan struct{}),
		done: make(chan struct{}),

		models: map[*scene.Model]*gpuModel{},
	}
	ready := make(chan error, 1)
	go w.loop(ctx, o, ready)
	if err := <-ready; err != nil {
		<-w.done
		return nil, err
	}
	return w, nil
}

func (w *Worker) loop(ctx context.Context, o options, ready chan<- error) {
	defer close(w.done)
	// The goroutine exits locked, so its thread (with whatever EGL thread
	// state is left) is discarded rather than reused by the runtime.
	runtime.LockOSThread()
	c, err := egl.Open(egl.Options{Platform: egl.Platform(o.platform)})
	if err != nil {
		ready <- fmt.Errorf("%w: open: %w", ErrNoEGL, err)
		return
	}
	glInitOnce.Do(func() { glInitErr = gl.InitWithProcAddrFunc(c.GetProcAddress) })
	if glInitErr != nil {
		_ = c.Close()
		ready <- fmt.Errorf("%w: load GL functions: %w", ErrNoEGL, glInitErr)
		return
	}
	ei := c.Info()
	w.info = Info{Platform: string(ei.Platform), Device: ei.Device, Vendor: ei.Vendor, Renderer: ei.Renderer, Version: ei.Version}
	progs, err := newPrograms()
	if err != nil {
		_ = c.Close()
		ready <- fmt.Errorf("glrender: %w", err)
		return
	}
	w.progs = progs
	ready <- nil

	for {
		if job, ok := w.jobs.Pop(); ok {
			job()
			continue
		}
		select {
		case <-w.jobs.Ready():
		case <-w.quit:
			w.closeErr = w.shutdown(c)
			return
		case <-ctx.Done():
			w.closeErr = w.shutdown(c)
			return
		}
	}
}

func (w *Worker) shutdown(c *egl.Context) error {
	w.progs.delete()
	for _, g := range w.models {
		g.delete()
	}
	gl.Finish()
	if err := c.Close(); err != nil {
		return fmt.Errorf("glrender: close worker: %w", err)
	}
	return nil
}

// do runs fn on the worker goroutine and returns its error, or ErrClosed if
// the worker has stopped.
func (w *Worker) do(fn func() error) error { return w.doBy(time.Time{}, fn) }

// doBy is do for work wanted by deadline: the worker runs its queued work
// earliest deadline first.
func (w *Worker) doBy(deadline time.Time, fn func() error) error {
	select {
	case <-w.done:
		return ErrClosed
	default:
	}
	errc := make(chan error, 1)
	w.jobs.Push(deadline, func() { errc <- fn() })
	select {
	case err := <-errc:
		return err
	case <-w.done:
		// It may have run just before the worker stopped.
		select {
		case err := <-errc:
			return err
		default:
			return ErrClosed
		}
	}
}

// Info returns the EGL platform and GL strings of the Worker's context.
func (w *Worker) Info() Info { return w.info }

// Close stops the Worker, destroying its context and with it every GL
// object of its Renderers, and waits for its goroutine to exit. It is safe
// to call more than once and from several goroutines.
func (w *Worker) Close() error {
	w.closeOnce.Do(func() { close(w.quit) })
	<-w.done
	return w.closeErr
}

// NewRenderer makes a Renderer for side-by-side frames of width×height
// pixels (each eye width/2 × height) drawing scene, or DefaultScene() when
// none is given. width and height must be even, width/2 even too (so each
// eye is a whole number of chroma blocks), and within the GL renderbuffer
// limit. The Renderer's Render and Close must be called from one goroutine
// at a time; it also implements render.Resizer.
func (w *Worker) NewRenderer(width, height int, scene ...*Scene) (render.Renderer, error) {
	if len(scene) > 1 {
		return nil, fmt.Errorf("glrender: new renderer: %d scenes given, want at most one", len(scene))
	}
	s := DefaultScene()
	if len(scene) == 1 && scene[0] != nil {
		s = scene[0]
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("glrender: new renderer: %w", err)
	}
	r := &Renderer{w: w, scene: s}
	var err error
	if derr := w.do(func() error {
		err = r.init(width, height)
		return nil
	}); derr != nil {
		return nil, fmt.Errorf("glrender: new renderer: %w", derr)
	}
	if err != nil {
		return nil, fmt.Errorf("glrender: new renderer %dx%d: %w", width, height, err)
	}
	return r, nil
}

// glError returns the pending GL errors, if any, as an error.
func glError(op string) error {
	var codes []error
	for range 8 {
		e := gl.GetError()
		if e == gl.NO_ERROR {
			break
		}
		codes = append(codes, fmt.Errorf("%s (0x%04X)", glErrorName(e), e))
	}
	if len(codes) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", op, errors.Join(codes...))
}

func glErrorName(e uint32) string {
	switch e {
	case gl.INVALID_ENUM:
		return "GL_INVALID_ENUM"
	case gl.INVALID_VALUE:
		return "GL_INVALID_VALUE"
	case gl.INVALID_OPERATION:
		return "GL_INVALID_OPERATION"
	case gl.INVALID_FRAMEBUFFER_OPERATION:
		return "GL_INVALID_FRAMEBUFFER_OPERATION"
	case gl.OUT_OF_MEMORY:
		return "GL_OUT_OF_MEMORY"
	}
	return "GL error"
}
