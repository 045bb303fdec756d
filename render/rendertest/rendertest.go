// Package rendertest provides a pure-Go render.Renderer for testing the
// stages around rendering (session, node, clients) without GL: it draws a
// flat picture whose brightness encodes the head's yaw, and records the
// views it was asked to draw.
package rendertest

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/holocast/holocast/render"
)

// Name is what Factory.Name reports.
const Name = "rendertest"

// Factory makes Renderers and remembers them. Its zero value is ready to
// use. It implements render.Factory.
type Factory struct {
	// Delay, if positive, is how long each Render takes (to stand in for
	// GL time).
	Delay time.Duration
	// Err, if set, makes NewRenderer fail with it.
	Err error

	mu        sync.Mutex
	renderers []*Renderer
}

var _ render.Factory = (*Factory)(nil)

// NewRenderer implements render.Factory.
func (f *Factory) NewRenderer(width, height int) (render.Renderer, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	if width <= 0 || height <= 0 || width%4 != 0 || height%2 != 0 {
		return nil, fmt.Errorf("rendertest: size %dx%d: width must be a positive multiple of 4, height positive and even", width, height)
	}
	r := &Renderer{delay: f.Delay}
	r.resize(width, height)
	f.mu.Lock()
	f.renderers = append(f.renderers, r)
	f.mu.Unlock()
	return r, nil
}

// Name implements render.Factory.
func (f *Factory) Name() string { return Name }

// Renderers returns every Renderer made so far, oldest first.
func (f *Factory) Renderers() []*Renderer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Renderer(nil), f.renderers...)
}

// Open counts the Renderers not yet closed.
func (f *Factory) Open() int {
	n := 0
	for _, r := range f.Renderers() {
		if !r.Closed() {
			n++
		}
	}
	return n
}

// Renderer is a pure-Go render.Renderer and render.Resizer. The luma of the
// whole frame is YawLuma of the left eye's view, so a receiver can tell
// which way the head pointed; chroma is neutral.
type Renderer struct {
	delay time.Duration

	mu     sync.Mutex
	frame  render.Frame
	views  []render.StereoViews
	closed bool
}

var (
	_ render.Renderer = (*Renderer)(nil)
	_ render.Resizer  = (*Renderer)(nil)
)

func (r *Renderer) resize(width, height int) {
	r.frame = render.Frame{
		Width: width, Height: height,
		Y: make([]byte, width*height),
		U: make([]byte, width*height/4),
		V: make([]byte, width*height/4),
	}
	for i := range r.frame.U {
		r.frame.U[i], r.frame.V[i] = 128, 128
	}
}

// Render implements render.Renderer.
func (r *Renderer) Render(v render.StereoViews) (*render.Frame, error) {
	start := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.views = append(r.views, v)
	y := YawLuma(v.Left)
	for i := range r.frame.Y {
		r.frame.Y[i] = y
	}
	r.frame.Timings = render.Timings{Render: time.Since(start)}
	return &r.frame, nil
}

// SetSize implements render.Resizer.
func (r *Renderer) SetSize(width, height int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.resize(width, height)
	return nil
}

// Views returns the views rendered so far.
func (r *Renderer) Views() []render.StereoViews {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]render.StereoViews(nil), r.views...)
}

// Size returns the current frame size.
func (r *Renderer) Size() (width, height int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frame.Width, r.frame.Height
}

// Close implements render.Renderer; it is idempotent.
func (r *Renderer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

// Closed reports whether Close was called.
func (r *Renderer) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// YawLuma maps the yaw of an eye's view (the head turning left or right)
// to a luma value in [16, 235]: 16 looking along −Z, rising to 235 at a
// half turn either way.
func YawLuma(e render.Eye) byte {
	// The view matrix is world→eye; its third row is the eye's +Z axis
	// (backwards) in world coordinates.
	fx, fz := -float64(e.View.At(2, 0)), -float64(e.View.At(2, 2))
	yaw := math.Abs(math.Atan2(-fx, -fz)) // 0 straight ahead (−Z)
	return byte(16 + math.Round(219*yaw/math.Pi))
}
