//go:build egl && cgo

package glrender

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/mathgl/mgl32"

	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/yuv"
)

// Renderer draws a Scene for one session into its own framebuffer on a
// Worker. It implements render.Renderer and render.Resizer.
type Renderer struct {
	w     *Worker
	scene *Scene

	// GL objects, touched only on the worker goroutine.
	fbo, colorRB, depthRB uint32
	vao, vbo, ibo         uint32

	width, height int
	rgba          []byte // readback, bottom-up rows
	frame         *render.Frame
	closed        bool

	model     *shown     // nil: the built-in scene only
	eyes      [2]eyeDraw // per-eye draw lists, reused
	triangles int        // drawn by the last frame
	noCull    bool       // see SetCulling
	noLOD     bool
	lodErr    float32 // see SetLODPixelError; 0: LODPixelError
	// fragmentLitOnly turns off lighting per vertex (tests compare the
	// two).
	fragmentLitOnly bool
}

var _ render.Renderer = (*Renderer)(nil)
var _ render.Resizer = (*Renderer)(nil)
var _ render.DeadlineRenderer = (*Renderer)(nil)

// init creates the GL objects; it runs on the worker goroutine.
func (r *Renderer) init(width, height int) error {
	s := r.scene
	gl.GenVertexArrays(1, &r.vao)
	gl.BindVertexArray(r.vao)
	gl.GenBuffers(1, &r.vbo)
	gl.BindBuffer(gl.ARRAY_BUFFER, r.vbo)
	stride := int32(unsafe.Sizeof(Vertex{}))
	gl.BufferData(gl.ARRAY_BUFFER, len(s.Vertices)*int(stride), unsafe.Pointer(&s.Vertices[0]), gl.STATIC_DRAW)
	gl.EnableVertexAttribArray(0)
	gl.VertexAttribPointerWithOffset(0, 3, gl.FLOAT, false, stride, 0)
	gl.EnableVertexAttribArray(1)
	gl.VertexAttribPointerWithOffset(1, 3, gl.FLOAT, false, stride, 12)
	gl.EnableVertexAttribArray(2)
	gl.VertexAttribPointerWithOffset(2, 3, gl.FLOAT, false, stride, 24)
	gl.GenBuffers(1, &r.ibo)
	gl.BindBuffer(gl.ELEMENT_ARRAY_BUFFER, r.ibo)
	gl.BufferData(gl.ELEMENT_ARRAY_BUFFER, len(s.Indices)*4, gl.Ptr(&s.Indices[0]), gl.STATIC_DRAW)
	gl.BindVertexArray(0)
	gl.BindBuffer(gl.ARRAY_BUFFER, 0)

	gl.GenFramebuffers(1, &r.fbo)
	gl.GenRenderbuffers(1, &r.colorRB)
	gl.GenRenderbuffers(1, &r.depthRB)
	if err := glError("create buffers"); err != nil {
		r.deleteGL()
		return err
	}
	if err := r.resize(width, height); err != nil {
		r.deleteGL()
		return err
	}
	return nil
}

// checkSize validates a side-by-side frame size.
func checkSize(width, height int) error {
	if width <= 0 || height <= 0 || width%4 != 0 || height%2 != 0 {
		return fmt.Errorf("size %dx%d: width must be a positive multiple of 4 and height positive and even", width, height)
	}
	return nil
}

// resize (re)allocates the framebuffer attachments; worker goroutine only.
func (r *Renderer) resize(width, height int) error {
	if err := checkSize(width, height); err != nil {
		return err
	}
	var maxRB, maxVP [2]int32
	gl.GetIntegerv(gl.MAX_RENDERBUFFER_SIZE, &maxRB[0])
	gl.GetIntegerv(gl.MAX_VIEWPORT_DIMS, &maxVP[0])
	if int32(width) > maxRB[0] || int32(height) > maxRB[0] || int32(width) > maxVP[0] || int32(height) > maxVP[1] {
		return fmt.Errorf("size %dx%d exceeds the GL limit (renderbuffer %d, viewport %dx%d)", width, height, maxRB[0], maxVP[0], maxVP[1])
	}
	frame, err := render.NewFrame(width, height)
	if err != nil {
		return err
	}
	gl.BindRenderbuffer(gl.RENDERBUFFER, r.colorRB)
	gl.RenderbufferStorage(gl.RENDERBUFFER, gl.RGBA8, int32(width), int32(height))
	gl.BindRenderbuffer(gl.RENDERBUFFER, r.depthRB)
	gl.RenderbufferStorage(gl.RENDERBUFFER, gl.DEPTH_COMPONENT24, int32(width), int32(height))
	gl.BindRenderbuffer(gl.RENDERBUFFER, 0)
	gl.BindFramebuffer(gl.FRAMEBUFFER, r.fbo)
	gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.RENDERBUFFER, r.colorRB)
	gl.FramebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, r.depthRB)
	status := gl.CheckFramebufferStatus(gl.FRAMEBUFFER)
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	if err := glError("allocate framebuffer"); err != nil {
		return err
	}
	if status != gl.FRAMEBUFFER_COMPLETE {
		return fmt.Errorf("framebuffer incomplete: status 0x%04X", status)
	}
	r.width, r.height = width, height
	r.rgba = make([]byte, width*height*4)
	r.frame = frame
	return nil
}

// SetSize changes the frame size (see NewRenderer for the constraints).
func (r *Renderer) SetSize(width, height int) error {
	if r.closed {
		return ErrClosed
	}
	if width == r.width && height == r.height {
		return nil
	}
	if err := checkSize(width, height); err != nil {
		return fmt.Errorf("glrender: set size: %w", err)
	}
	var err error
	if derr := r.w.do(func() error { err = r.resize(width, height); return nil }); derr != nil {
		return fmt.Errorf("glrender: set size: %w", derr)
	}
	if err != nil {
		return fmt.Errorf("glrender: set size %dx%d: %w", width, height, err)
	}
	return nil
}

// Size returns the current side-by-side frame size.
func (r *Renderer) Size() (width, height int) { return r.width, r.height }

// Render draws v.Left into the left half and v.Right into the right half,
// reads the pixels back and converts them to I420. The returned Frame is
// reused by the next call.
func (r *Renderer) Render(v render.StereoViews) (*render.Frame, error) {
	return r.RenderBy(v, time.Time{})
}

// RenderBy implements render.DeadlineRenderer: Render with the time the
// frame is wanted by. Frames of the Worker's Renderers are drawn earliest
// deadline first; the zero deadline goes before all others.
func (r *Renderer) RenderBy(v render.StereoViews, deadline time.Time) (*render.Frame, error) {
	if r.closed {
		return nil, ErrClosed
	}
	queued := time.Now()
	var t render.Timings
	var err error
	if derr := r.w.doBy(deadline, func() error {
		start := time.Now()
		t.Wait = start.Sub(queued)
		err = r.draw(v)
		t.Render = time.Since(start)
		return nil
	}); derr != nil {
		return nil, fmt.Errorf("glrender: render: %w", derr)
	}
	if err != nil {
		return nil, fmt.Errorf("glrender: render: %w", err)
	}
	start := time.Now()
	if err := yuv.ConvertRGBA(r.frame, r.rgba, r.width, r.height, true); err != nil {
		return nil, fmt.Errorf("glrender: render: %w", err)
	}
	t.Convert = time.Since(start)
	r.frame.Timings = t
	r.frame.Triangles = r.triangles
	return r.frame, nil
}

// RenderRGBA is Render without the conversion: it returns the RGBA8 pixels
// of the frame, bottom row first as glReadPixels returns them, valid until
// the next call. It is for debugging and tests.
func (r *Renderer) RenderRGBA(v render.StereoViews) ([]byte, error) {
	if r.closed {
		return nil, ErrClosed
	}
	var err error
	if derr := r.w.do(func() error { err = r.draw(v); return nil }); derr != nil {
		return nil, fmt.Errorf("glrender: render: %w", derr)
	}
	if err != nil {
		return nil, fmt.Errorf("glrender: render: %w", err)
	}
	return r.rgba, nil
}

// draw renders both eyes and reads back; worker goroutine only.
func (r *Renderer) draw(v render.StereoViews) error {
	r.drawEyes(v)
	return r.readback()
}

// drawEyes issues the GL commands for both eyes into the framebuffer.
func (r *Renderer) drawEyes(v render.StereoViews) {
	s, ps := r.scene, r.w.progs
	gl.BindFramebuffer(gl.FRAMEBUFFER, r.fbo)
	gl.Viewport(0, 0, int32(r.width), int32(r.height))
	gl.Enable(gl.DEPTH_TEST)
	gl.DepthFunc(gl.LEQUAL)
	gl.DepthMask(true)
	gl.Enable(gl.CULL_FACE)
	gl.CullFace(gl.BACK)
	gl.FrontFace(gl.CCW)
	gl.Disable(gl.BLEND)
	fc := s.FogColor
	gl.ClearColor(fc[0], fc[1], fc[2], 1)
	gl.Clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT)
	gl.BindVertexArray(r.vao)

	eyeW := int32(r.width / 2)
	floorLight := 0.3 + 0.75*max(s.LightDir.Normalize()[1], 0)
	r.triangles = 0
	for i, e := range []render.Eye{v.Left, v.Right} {
		gl.Viewport(int32(i)*eyeW, 0, eyeW, int32(r.height))
		vp := e.Projection.Mul4(e.View)
		eye := e.View.Inv().Col(3).Vec3()
		d := &r.eyes[i]
		if r.model != nil {
			// Opaque model first (nearest), then the floor and sky behind
			// it, then blended geometry over all of them.
			r.model.plan(e, r.height, d)
			r.triangles += d.triangles
			r.drawModel(e, d, false)
		}
		var cur *program
		for _, dr := range s.Draws {
			p := ps.lit
			if dr.Material == MaterialGrid {
				p = ps.grid
			}
			if p != cur {
				cur = p
				gl.UseProgram(p.id)
				gl.UniformMatrix4fv(p.loc("uViewProj"), 1, false, &vp[0])
				gl.Uniform3fv(p.loc("uEye"), 1, &eye[0])
				gl.Uniform3fv(p.loc("uFogColor"), 1, &fc[0])
				gl.Uniform1f(p.loc("uFogDensity"), s.FogDensity)
				if p == ps.lit {
					gl.Uniform3fv(p.loc("uLightDir"), 1, &s.LightDir[0])
				} else {
					gl.Uniform1f(p.loc("uFloorLight"), floorLight)
				}
			}
			gl.DrawElementsWithOffset(gl.TRIANGLES, int32(dr.Count), gl.UNSIGNED_INT, uintptr(dr.First*4))
			r.triangles += dr.Count / 3
		}
		if s.Sky {
			rot := e.View
			rot.SetCol(3, mgl32.Vec4{0, 0, 0, 1})
			inv := e.Projection.Mul4(rot).Inv()
			gl.UseProgram(ps.sky.id)
			gl.UniformMatrix4fv(ps.sky.loc("uInvViewProjRot"), 1, false, &inv[0])
			gl.Uniform3fv(ps.sky.loc("uFogColor"), 1, &fc[0])
			gl.Uniform3fv(ps.sky.loc("uLightDir"), 1, &s.LightDir[0])
			gl.DepthMask(false)
			gl.DrawArrays(gl.TRIANGLES, 0, 3)
			gl.DepthMask(true)
		}
		if r.model != nil {
			r.drawModel(e, d, true)
		}
	}
	gl.BindVertexArray(0)
}

// readback waits for drawing to finish and copies the framebuffer into
// r.rgba. On llvmpipe the pixels are already in system memory and
// glReadPixels is a copy (about 0.2 ms for 8 MB), so a pixel buffer object
// would add a copy rather than save one.
func (r *Renderer) readback() error {
	gl.BindFramebuffer(gl.FRAMEBUFFER, r.fbo)
	gl.ReadPixels(0, 0, int32(r.width), int32(r.height), gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(&r.rgba[0]))
	gl.BindFramebuffer(gl.FRAMEBUFFER, 0)
	return glError("draw")
}

// deleteGL deletes the Renderer's GL objects; worker goroutine only.
func (r *Renderer) deleteGL() {
	gl.DeleteFramebuffers(1, &r.fbo)
	gl.DeleteRenderbuffers(1, &r.colorRB)
	gl.DeleteRenderbuffers(1, &r.depthRB)
	gl.DeleteVertexArrays(1, &r.vao)
	gl.DeleteBuffers(1, &r.vbo)
	gl.DeleteBuffers(1, &r.ibo)
	r.fbo, r.colorRB, r.depthRB, r.vao, r.vbo, r.ibo = 0, 0, 0, 0, 0, 0
}

// Close deletes the Renderer's GL objects. After its Worker has closed
// there is nothing left to delete and Close returns nil. Calling Close
// again is a no-op.
func (r *Renderer) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.w.do(func() error { r.deleteGL(); return glError("delete") })
	if errors.Is(err, ErrClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("glrender: close renderer: %w", err)
	}
	return nil
}
