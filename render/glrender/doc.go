// Package glrender renders stereo frames with OpenGL 3.3 core through a
// headless EGL context (see package render/egl): no window system, no
// surface; each Renderer draws into its own framebuffer object, reads the
// pixels back and converts them to I420 with libyuv (package render/yuv).
//
// A Worker owns one EGL context on one goroutine locked to its OS thread
// for its whole life; every GL call of every Renderer made from it runs on
// that goroutine, one frame at a time. That serialisation is the node's
// render scheduler: with llvmpipe on a CPU-only node one frame already
// keeps every core busy, so several sessions share one Worker. Colour
// conversion runs on the caller's goroutine, outside the Worker.
//
// Typical use, one Worker per node and one Renderer per session:
//
//	w, err := glrender.NewWorker(ctx)
//	if err != nil { ... }            // e.g. no EGL on this machine
//	defer w.Close()
//	r, err := w.NewRenderer(render.DefaultWidth, render.DefaultHeight)
//	if err != nil { ... }
//	defer r.Close()
//	dev := render.DefaultDevice(render.DefaultWidth/2, render.DefaultHeight)
//	frame, err := r.Render(dev.Views(p)) // I420, reused by the next call
//
// A client's requested size is applied with r.(render.Resizer).SetSize.
//
// The GL implementation needs the "egl" build tag (which also makes go-gl
// load functions through EGL and link libEGL only, not libGL/GLX). Without
// the tag the package still compiles and NewWorker returns ErrNoGL.
package glrender
