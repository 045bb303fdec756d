package session

import (
	"fmt"
	"strings"
	"testing"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

// TestDeviceConfigResizes: a DeviceConfig on the control channel that
// changes the output size or rate is answered with a SessionInfo of what is
// in force, and the frames that follow the rebuild (at most one every
// Config.RebuildInterval) have the new size, the first of them a key frame
// from a new encoder; a Resizer renderer is resized in place,
// any other is rebuilt; exactly one renderer and one encoder stay open. A
// size beyond the limits is clamped; a rejected DeviceConfig is answered
// with a Notice, counted, and changes nothing. Across the whole stream the
// size changes only at the steps (no frame of an old size after a new one).
func TestDeviceConfigResizes(t *testing.T) {
	type size struct{ w, h uint32 }
	steps := []struct {
		name     string
		config   *holocastv1.DeviceConfig
		want     size   // frame size afterwards
		fps      uint32 // frame rate afterwards
		rebuilds bool   // a new encoder (and, for fixed renderers, renderer)
		notice   string // the Notice of a rejected config
	}{
		{"larger", &holocastv1.DeviceConfig{Width: 400, Height: 200}, size{400, 200}, 30, true, ""},
		{"beyond the limits is clamped", &holocastv1.DeviceConfig{Width: 9999, Height: 9999}, size{640, 480}, 30, true, ""},
		{"too small is rejected", &holocastv1.DeviceConfig{Width: 10, Height: 10}, size{640, 480}, 30, false, "below 64x64"},
		{"rate only", &holocastv1.DeviceConfig{MaxFps: 15}, size{640, 480}, 15, true, ""},
		{"same again changes nothing", &holocastv1.DeviceConfig{Width: 640, Height: 480, MaxFps: 15}, size{640, 480}, 15, false, ""},
		{"smaller, width rounded to a multiple of 4", &holocastv1.DeviceConfig{Width: 258, Height: 130}, size{256, 130}, 15, true, ""},
	}
	for _, fixed := range []bool{false, true} {
		name := "resizable renderer"
		if fixed {
			name = "fixed-size renderer"
		}
		t.Run(name, func(t *testing.T) {
			checkGoroutines(t)
			h := startSession(t, harnessOptions{fixedSize: fixed})
			h.waitStreaming()
			encoders, badControl := 1, uint64(0)
			sizes := []size{{256, 128}} // the frame sizes the stream should go through
			for _, st := range steps {
				infos, notices := len(h.hs.sessionInfos()), len(h.hs.noticeTexts())
				h.hs.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DeviceConfig{DeviceConfig: st.config}})
				if st.notice != "" {
					badControl++
					waitFor(t, st.name+": Notice", func() bool { return len(h.hs.noticeTexts()) > notices })
					if got := h.hs.noticeTexts()[notices]; !strings.Contains(got, st.notice) {
						t.Errorf("%s: Notice %q, want one about %q", st.name, got, st.notice)
					}
					if got := h.s.Stats().BadControl; got != badControl {
						t.Errorf("%s: BadControl %d, want %d", st.name, got, badControl)
					}
				} else {
					waitFor(t, st.name+": SessionInfo", func() bool { return len(h.hs.sessionInfos()) > infos })
					si := h.hs.sessionInfos()[infos]
					if si.GetWidth() != st.want.w || si.GetHeight() != st.want.h || si.GetFps() != st.fps {
						t.Errorf("%s: SessionInfo %dx%d@%d, want %dx%d@%d", st.name, si.GetWidth(), si.GetHeight(), si.GetFps(), st.want.w, st.want.h, st.fps)
					}
				}
				if st.rebuilds {
					encoders++
				}
				if sizes[len(sizes)-1] != st.want {
					sizes = append(sizes, st.want)
				}

				// A rebuild comes at most Config.RebuildInterval after the
				// last one: wait for it, then for a frame begun after it.
				waitFor(t, st.name+": the pipeline rebuilt", func() bool { return len(h.encoders.all()) >= encoders })
				fi := h.hs.waitInfo(h.nextFrameID())
				if got := (size{fi.GetWidth(), fi.GetHeight()}); got != st.want {
					t.Errorf("%s: frame %d is %dx%d, want %dx%d", st.name, fi.GetFrameId(), got.w, got.h, st.want.w, st.want.h)
				}
				checkPipeline(t, h, st.name, fixed, encoders, int(st.want.w), int(st.want.h))
			}

			// The stream went through the sizes in order, and each new
			// encoder began with a key frame.
			var seen []size
			for _, fi := range h.hs.frameInfos() {
				s := size{fi.GetWidth(), fi.GetHeight()}
				if len(seen) == 0 || seen[len(seen)-1] != s {
					seen = append(seen, s)
					if len(seen) > 1 && !fi.GetKeyFrame() {
						t.Errorf("frame %d, the first at %dx%d, is not a key frame", fi.GetFrameId(), s.w, s.h)
					}
				}
			}
			if fmt.Sprint(seen) != fmt.Sprint(sizes) {
				t.Errorf("frame sizes went %v, want %v", seen, sizes)
			}
			if got := h.s.Stats().FrameErrors; got != 0 {
				t.Errorf("%d frame errors", got)
			}
		})
	}
}

// checkPipeline checks the renderers and encoders a session has made after
// a step: encoders in all, one open of each, the open renderer at w×h.
func checkPipeline(t *testing.T, h *harness, step string, fixed bool, encoders, w, hgt int) {
	t.Helper()
	if got := len(h.encoders.all()); got != encoders {
		t.Errorf("%s: %d encoders made, want %d", step, got, encoders)
	}
	if c := h.encoders.last().Config(); c.Width != w || c.Height != hgt {
		t.Errorf("%s: encoder is %dx%d, want %dx%d", step, c.Width, c.Height, w, hgt)
	}
	renderers := 1
	if fixed {
		renderers = encoders // rebuilt with every encoder
	}
	all := h.renderers.Renderers()
	if len(all) != renderers {
		t.Errorf("%s: %d renderers made, want %d", step, len(all), renderers)
	}
	if rw, rh := all[len(all)-1].Size(); rw != w || rh != hgt {
		t.Errorf("%s: renderer is %dx%d, want %dx%d", step, rw, rh, w, hgt)
	}
	if h.renderers.Open() != 1 || h.encoders.open() != 1 {
		t.Errorf("%s: %d renderers and %d encoders open, want one of each", step, h.renderers.Open(), h.encoders.open())
	}
}
