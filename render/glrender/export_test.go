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
