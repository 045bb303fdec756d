//go:build cgo

package x264_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	mdx264 "github.com/pion/mediadevices/pkg/codec/x264"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/encoder/internal/mdcodec"
	"github.com/holocast/holocast/encoder/x264"
)

// oldFactory is the back-end this package replaced: pion/mediadevices'
// x264 wrapper (zerolatency, the preset's profile, periodic IDRs, a VBV of
// about 2 s, rate control assuming 25 fps, hence the scaled rate). It is
// kept here, in a test file, only to compare against.
var oldFactory = encoder.Factory{Name: "mediadevices-x264", New: mdcodec.Backend{
	Name: "mediadevices-x264",
	Build: func(cfg encoder.Config, r video.Reader) (codec.ReadCloser, error) {
		p, err := mdx264.NewParams()
		if err != nil {
			return nil, err
		}
		for i, n := range encoder.Presets {
			if n == cfg.Preset {
				p.Preset = mdx264.Preset(i)
			}
		}
		p.BitRate = cfg.BitRate * 25 / cfg.FPS
		p.KeyFrameInterval = cfg.KeyFrameInterval
		return p.BuildVideoEncoder(r, prop.Media{Video: prop.Video{
			Width: cfg.Width, Height: cfg.Height, FrameRate: float32(cfg.FPS), FrameFormat: frame.FormatI420,
		}})
	},
	BitRate: func(cfg encoder.Config, bps int) int { return bps * 25 / cfg.FPS },
}.New}

// TestCapVersusOldWrapper encodes the same 1280x720@30 content at 800
// kbit/s with the old wrapper and this package: the old first IDR takes
// many frame intervals of link time, the new one fits the cap.
func TestCapVersusOldWrapper(t *testing.T) {
	const w, h, fps, bps, n = 1280, 720, 30, 800_000, 90
	budget := intervalBytes(bps, fps)
	largest := map[string]float64{}
	for _, f := range []encoder.Factory{oldFactory, x264.Factory} {
		enc, err := f.New(encoder.Config{Width: w, Height: h, FPS: fps, BitRate: bps})
		if err != nil {
			t.Fatal(err)
		}
		aus := encode(t, enc, scrollingScene(w, h), 0, n)
		_ = enc.Close()
		var keys []int
		for i, au := range aus {
			largest[f.Name] = max(largest[f.Name], float64(len(au.Data))/budget)
			if au.KeyFrame {
				keys = append(keys, i)
			}
		}
		t.Logf("%s: largest frame %.1f frame intervals at %d bit/s (first IDR %d bytes), IDRs at %v",
			f.Name, largest[f.Name], bps, len(aus[0].Data), keys)
	}
	if got := largest[x264.Name]; got > frameCap {
		t.Errorf("x264: largest frame %.2f intervals, want <= %.1f", got, frameCap)
	}
	if got := largest[oldFactory.Name]; got < 2*frameCap {
		t.Errorf("old wrapper: largest frame %.2f intervals; expected it to break the cap (is this comparison still meaningful?)", got)
	}
}

// BenchmarkVersusOld measures the time to encode one frame with this
// package and with the old mediadevices wrapper, on the same scene-like
// content at 30 fps and 2 Mbit/s, one sub-benchmark after the other; run
// the test binary N times to interleave them (-count repeats each
// sub-benchmark in a row). cpu-ms/frame is the process's CPU time (user +
// system, all threads, the content's drawing included), steadier than the
// wall clock on a shared machine.
func BenchmarkVersusOld(b *testing.B) {
	for _, sz := range [][2]int{{1280, 720}, {640, 360}} {
		for _, f := range []encoder.Factory{x264.Factory, oldFactory} {
			b.Run(fmt.Sprintf("%s/%s", encodertest.SizeName(sz[0], sz[1]), f.Name), func(b *testing.B) {
				w, h := sz[0], sz[1]
				enc, err := f.New(encoder.Config{Width: w, Height: h, FPS: 30, BitRate: 2_000_000})
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = enc.Close() }()
				s := encodertest.NewSceneFrame(w, h)
				for i := range 30 {
					if _, err := enc.Encode(s.Step(i)); err != nil {
						b.Fatal(err)
					}
				}
				i, bytes := 30, 0
				cpu0 := cpuTime(b)
				for b.Loop() {
					au, err := enc.Encode(s.Step(i))
					if err != nil {
						b.Fatal(err)
					}
					bytes += len(au.Data)
					i++
				}
				b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/frame")
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
				b.ReportMetric(float64(bytes)/float64(b.N), "bytes/frame")
			})
		}
	}
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
