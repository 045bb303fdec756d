//go:build !egl || !cgo

package glrender

import (
	"context"
	"errors"

	"github.com/holocast/holocast/render"
)

// ErrNoGL is returned by NewWorker in builds without the "egl" tag or
// without cgo.
var ErrNoGL = errors.New("glrender: built without OpenGL support (build with cgo and -tags egl)")

// Worker is the GL worker; in this build it cannot be created.
type Worker struct{}

// Info describes the GL context of a Worker.
type Info struct {
	Platform, Device, Vendor, Renderer, Version string
}

// NewWorker returns ErrNoGL: this build has no OpenGL support.
func NewWorker(ctx context.Context, opts ...Option) (*Worker, error) {
	return nil, ErrNoGL
}

// Info returns the zero Info.
func (w *Worker) Info() Info { return Info{} }

// NewRenderer returns ErrNoGL.
func (w *Worker) NewRenderer(width, height int, scene ...*Scene) (render.Renderer, error) {
	return nil, ErrNoGL
}

// Close does nothing.
func (w *Worker) Close() error { return nil }
