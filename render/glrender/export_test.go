//go:build egl && cgo

package glrender

import (
	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/holocast/holocast/render"
)

func isFramebuffer(n uint32) bool  { return n != 0 && gl.IsFramebuffer(n) }
func isRenderbuffer(n uint32) bool { return n != 0 && gl.IsRenderbuffer(n) }
func isVertexArray(n uint32) bool  { return n != 0 && gl.IsVertexArray(n) }
func isBuffer(n uint32) bool       { return n != 0 && gl.IsBuffer(n) }

// drawOnWorker draws v; it must run on the worker goroutine.
func (r *Renderer) drawOnWorker(v render.StereoViews) ([]byte, error) {
	if err := r.draw(v); err != nil {
		return nil, err
	}
	return r.rgba, nil
}

// setFragmentLighting lights every chunk of the current and later models
// per fragment (only true) or lets micropolygon chunks be lit per vertex
// (the default).
func (r *Renderer) setFragmentLighting(only bool) {
	_ = r.w.do(func() error {
		r.fragmentLitOnly = only
		if r.model != nil {
			r.model.vertexPx = vertexLightPixels
			if only {
				r.model.vertexPx = 0
			}
		}
		return nil
	})
}

// vertexLitTriangles returns the triangles the last frame lit per vertex
// (both eyes).
func (r *Renderer) vertexLitTriangles() int {
	n := 0
	_ = r.w.do(func() error {
		n = r.eyes[0].vertexLitN + r.eyes[1].vertexLitN
		return nil
	})
	return n
}
