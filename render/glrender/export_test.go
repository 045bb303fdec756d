//go:build egl && cgo

package glrender

import "github.com/go-gl/gl/v3.3-core/gl"

func isFramebuffer(n uint32) bool  { return n != 0 && gl.IsFramebuffer(n) }
func isRenderbuffer(n uint32) bool { return n != 0 && gl.IsRenderbuffer(n) }
func isVertexArray(n uint32) bool  { return n != 0 && gl.IsVertexArray(n) }
func isBuffer(n uint32) bool       { return n != 0 && gl.IsBuffer(n) }
