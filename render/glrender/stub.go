//go:build !egl || !cgo

package glrender

import (
	"context"

	"github.com/holocast/holocast/render"
)

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
