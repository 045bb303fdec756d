// Package render owns turning a head pose into a stereo picture: the
// Renderer interface between the pose and encoder stages, per-eye view and
// projection maths, the I420 Frame handed to the encoder and the RGBA→I420
// conversion. The OpenGL/EGL implementation lives in render/glrender so that
// this package stays free of cgo.
package render

import (
	"time"

	"github.com/go-gl/mathgl/mgl32"

	"github.com/holocast/holocast/render/scene"
)

// Eye is what one eye sees: a view matrix (world to eye) and a projection.
type Eye struct {
	View       mgl32.Mat4
	Projection mgl32.Mat4
}

// StereoViews holds both eyes. The left eye is drawn into the left half of
// the side-by-side frame, the right eye into the right half.
type StereoViews struct {
	Left, Right Eye
}

// Timings are the durations of the stages inside one Render call.
type Timings struct {
	// Render is GL drawing plus pixel readback.
	Render time.Duration
	// Convert is the RGBA→I420 colour conversion.
	Convert time.Duration
	// Wait is the time spent queued behind other sessions' frames on a
	// shared render worker before drawing started (0 if not shared),
	// from the Render call to the start of drawing.
	Wait time.Duration
}

// Frame is one side-by-side stereo picture in I420 (YUV 4:2:0 planar,
// BT.601 limited range). Strides equal the plane widths, as the H.264
// encoders require. Width and Height are even.
type Frame struct {
	Width, Height int
	Y, U, V       []byte
	Timings       Timings
	// Triangles is how many triangles were drawn for both eyes, after
	// culling and level of detail (0 if the Renderer does not count).
	Triangles int
}

// Renderer draws stereo views into a Frame. A Renderer is owned by one
// goroutine; the returned Frame is reused by the next call.
type Renderer interface {
	Render(v StereoViews) (*Frame, error)
	Close() error
}

// DeadlineRenderer is implemented by Renderers that share a worker with
// other sessions' Renderers and serve their frames earliest deadline
// first: RenderBy is Render with the time by which the frame is wanted
// (the frame loop passes its frame's due time plus one frame interval).
type DeadlineRenderer interface {
	RenderBy(v StereoViews, deadline time.Time) (*Frame, error)
}

// Factory makes render targets: one Renderer per session, each owned by
// that session. The node's GL worker pool is one (package glrender);
// rendertest.Factory is a pure-Go one for tests.
type Factory interface {
	// NewRenderer makes a render target of a side-by-side frame size.
	NewRenderer(width, height int) (Renderer, error)
	// Name describes the renderer to clients (e.g. the GL_RENDERER string).
	Name() string
}

// Resizer is implemented by Renderers that can change their frame size, so
// that a client's requested resolution can be honoured without recreating
// the renderer. Frames returned before SetSize must not be used after it.
type Resizer interface {
	SetSize(width, height int) error
}

// ModelViewer is implemented by Renderers that can draw a loaded model
// (package render/scene) in place of their built-in scene.
type ModelViewer interface {
	// SetModel shows m with the model-to-world transform; nil m shows the
	// built-in scene again. The model must not be changed afterwards; one
	// Model may be shown by many Renderers at once.
	SetModel(m *scene.Model, transform mgl32.Mat4) error
}

// DefaultWidth and DefaultHeight are the default side-by-side frame size
// (each eye gets DefaultWidth/2 × DefaultHeight).
//
// Chosen by measurement with the built-in scene (glrender.DefaultScene,
// ~1.9k triangles) on a 2-core CPU-only node, Mesa 22.3 llvmpipe, default
// LP_NUM_THREADS (setting it to 1 or 4 was slower). The budget is 33 ms per
// frame (30 fps) minus ~4 ms for x264, so render+readback+convert must stay
// under ~29 ms. Medians of BenchmarkRender on a machine shared with other
// jobs (load 5-8):
//
//	1280x720:  render (GL+readback) 8-10 ms, convert 2.0-2.3 ms: fits, with
//	           room for a second session on the same worker;
//	1920x1080: render 40 ms, convert 7.7 ms: does not fit.
//
// glReadPixels of the 720p frame takes 0.1-0.3 ms of that render time.
const (
	DefaultWidth  = 1280
	DefaultHeight = 720
)
