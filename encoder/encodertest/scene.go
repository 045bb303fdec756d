package encodertest

import "github.com/holocast/holocast/render"

// NewFrame allocates a zeroed I420 frame of w×h with the
// layout render.Frame promises: strides equal to the plane widths.
func NewFrame(w, h int) *render.Frame {
	return &render.Frame{
		Width: w, Height: h,
		Y: make([]byte, w*h),
		U: make([]byte, w*h/4),
		V: make([]byte, w*h/4),
	}
}

// xorshift is a tiny deterministic PRNG for test content.
type xorshift uint32

func (x *xorshift) next() uint32 {
	v := uint32(*x)
	v ^= v << 13
	v ^= v >> 17
	v ^= v << 5
	*x = xorshift(v)
	return v
}

// MovingScene draws frames whose content changes every frame: a gradient
// background scrolling by speed pixels per frame, with a textured overlay
// of the given noise amplitude (0 for smooth), and a box moving diagonally.
type MovingScene struct {
	w, h, speed int
	// bg holds the background planes, twice as wide as the frame so that
	// scrolling is a row copy.
	bgY, bgU, bgV []byte
}

// NewMovingScene returns a MovingScene of w×h (both even).
func NewMovingScene(w, h, speed, noise int) *MovingScene {
	s := &MovingScene{w: w, h: h, speed: speed}
	rng := xorshift(0x9e3779b9)
	bw := 2 * w
	s.bgY = make([]byte, bw*h)
	for y := 0; y < h; y++ {
		for x := 0; x < bw; x++ {
			// Periodic in x with period w so the wrap-around is seamless.
			xx := x % w
			v := 40 + 150*xx/w + 30*y/h
			if noise > 0 {
				v += int(rng.next()%uint32(2*noise+1)) - noise
			}
			s.bgY[y*bw+x] = clamp(v)
		}
	}
	cw, ch := w/2, h/2
	s.bgU = make([]byte, 2*cw*ch)
	s.bgV = make([]byte, 2*cw*ch)
	for y := 0; y < ch; y++ {
		for x := 0; x < 2*cw; x++ {
			xx := x % cw
			s.bgU[y*2*cw+x] = clamp(128 + 60*xx/cw - 30)
			s.bgV[y*2*cw+x] = clamp(128 - 50*y/ch + 25)
		}
	}
	return s
}

func clamp(v int) byte {
	if v < 16 {
		return 16
	}
	if v > 235 {
		return 235
	}
	return byte(v)
}

// Draw renders frame i into f, a frame of the scene's size.
func (s *MovingScene) Draw(f *render.Frame, i int) {
	w, h := s.w, s.h
	off := (i * s.speed) % w
	for y := 0; y < h; y++ {
		copy(f.Y[y*w:(y+1)*w], s.bgY[y*2*w+off:])
	}
	cw, ch, coff := w/2, h/2, off/2
	for y := 0; y < ch; y++ {
		copy(f.U[y*cw:(y+1)*cw], s.bgU[y*2*cw+coff:])
		copy(f.V[y*cw:(y+1)*cw], s.bgV[y*2*cw+coff:])
	}
	// A box a fifth of the height, moving 4 px/frame diagonally.
	bs := h / 5 &^ 1
	bx := (i * 4) % (w - bs) &^ 1
	by := (i * 4) % (h - bs) &^ 1
	for y := by; y < by+bs; y++ {
		for x := bx; x < bx+bs; x++ {
			f.Y[y*w+x] = 200
		}
	}
	for y := by / 2; y < (by+bs)/2; y++ {
		for x := bx / 2; x < (bx+bs)/2; x++ {
			f.U[y*cw+x] = 90
			f.V[y*cw+x] = 200
		}
	}
}

// SceneFrame is benchmark content that looks like a rendered scene: a sky
// gradient, a textured ground, a few static objects with hard edges, and one
// object that moves a little every frame (as a slowly turning head or an
// animated prop would), so consecutive frames differ but mostly match.
type SceneFrame struct {
	f           *render.Frame
	bg          *render.Frame // the static scene
	obj, px, py int           // moving object size and last position
}

// NewSceneFrame returns scene-like content of w×h (both even).
func NewSceneFrame(w, h int) *SceneFrame {
	bg := NewFrame(w, h)
	rng := xorshift(12345)
	horizon := h * 2 / 5
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var v int
			if y < horizon {
				v = 170 + 40*y/horizon // sky
			} else {
				// ground: checker with a little grain, getting finer with depth
				d := y - horizon + 8
				cx, cy := (x-w/2)*64/d, 4096/d
				v = 90
				if (cx>>3+cy>>1)&1 == 0 {
					v = 120
				}
				v += int(rng.next()%9) - 4
			}
			bg.Y[y*w+x] = clamp(v)
		}
	}
	cw, ch := w/2, h/2
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			u, v := 150, 110 // sky: bluish
			if y >= horizon/2 {
				u, v = 110, 130 // ground: greenish-brown
			}
			bg.U[y*cw+x], bg.V[y*cw+x] = byte(u), byte(v)
		}
	}
	// Static objects: pillars.
	for i := 0; i < 6; i++ {
		x0 := (w/7)*(i+1) - w/40
		for y := horizon - h/6; y < horizon+h/5; y++ {
			for x := x0; x < x0+w/20; x++ {
				bg.Y[y*w+x] = clamp(60 + 20*i + (x-x0)*2)
			}
		}
	}
	s := &SceneFrame{f: NewFrame(w, h), bg: bg, obj: (h / 8) &^ 1}
	copy(s.f.Y, bg.Y)
	copy(s.f.U, bg.U)
	copy(s.f.V, bg.V)
	return s
}

// Step moves the object to its position for frame i, touching only the
// pixels around it.
func (s *SceneFrame) Step(i int) *render.Frame {
	w, h, o := s.f.Width, s.f.Height, s.obj
	restore := func(px, py int) {
		for y := py; y < py+o; y++ {
			copy(s.f.Y[y*w+px:y*w+px+o], s.bg.Y[y*w+px:])
		}
		cw := w / 2
		for y := py / 2; y < (py+o)/2; y++ {
			copy(s.f.U[y*cw+px/2:y*cw+(px+o)/2], s.bg.U[y*cw+px/2:])
			copy(s.f.V[y*cw+px/2:y*cw+(px+o)/2], s.bg.V[y*cw+px/2:])
		}
	}
	restore(s.px, s.py)
	// Ping-pong along a diagonal, 3 px per frame.
	span := w - o
	t := (i * 3) % (2 * span)
	if t > span {
		t = 2*span - t
	}
	s.px = t &^ 1
	s.py = (h/2 + (t*(h/4))/span - o/2) &^ 1
	for y := s.py; y < s.py+o; y++ {
		for x := s.px; x < s.px+o; x++ {
			s.f.Y[y*w+x] = byte(200 - (x-s.px+y-s.py)/2)
		}
	}
	cw := w / 2
	for y := s.py / 2; y < (s.py+o)/2; y++ {
		for x := s.px / 2; x < (s.px+o)/2; x++ {
			s.f.U[y*cw+x], s.f.V[y*cw+x] = 90, 190
		}
	}
	return s.f
}
