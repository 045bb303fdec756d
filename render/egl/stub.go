//go:build !cgo

package egl

import "unsafe"

// Context is a current, surfaceless OpenGL 3.3 core context; a build
// without cgo cannot make one.
type Context struct{}

// ClientExtensions returns "" in a build without cgo.
func ClientExtensions() string { return "" }

// Open returns ErrNoCgo: a build without cgo cannot call libEGL.
func Open(opts Options) (*Context, error) { return nil, ErrNoCgo }

// Info returns the zero Info.
func (c *Context) Info() Info { return Info{} }

// GetProcAddress returns nil.
func (c *Context) GetProcAddress(name string) unsafe.Pointer { return nil }

// MakeCurrent returns ErrNoCgo.
func (c *Context) MakeCurrent() error { return ErrNoCgo }

// Close does nothing.
func (c *Context) Close() error { return nil }
