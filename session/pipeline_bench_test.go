//go:build egl && cgo

package session

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl64"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/x264"
	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/glrender"
)

// BenchmarkFramePipeline measures one whole frame as the frame loop makes
// it: render (GL + readback), RGBA→I420, x264 encode and RTP packetising,
// for a head turning at 60°/s. Reports ms/frame per stage.
func BenchmarkFramePipeline(b *testing.B) {
	w, err := glrender.NewWorker(context.Background())
	if err != nil {
		b.Skipf("no GL: %v", err)
	}
	defer w.Close()
	for _, size := range [][2]int{{1280, 720}, {1920, 1080}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			r, err := w.NewRenderer(size[0], size[1])
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			e, err := x264.New(encoder.Config{Width: size[0], Height: size[1], FPS: 30, BitRate: 4_000_000})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			track, err := webrtc.NewTrackLocalStaticRTP(wire.VideoTrackCapability(), "video", "bench")
			if err != nil {
				b.Fatal(err)
			}
			pw := packetWriter{track: track}
			dev := render.DefaultDevice(size[0]/2, size[1])
			var rend, conv, enc, send time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				yaw := float64(i) * 2 * math.Pi / 180 // 60°/s at 30 fps
				p := pose.Pose{Orientation: mgl64.QuatRotate(yaw, mgl64.Vec3{0, 1, 0})}
				f, err := r.Render(dev.Views(p))
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				au, err := e.Encode(f)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := pw.write(au.Data, uint32(i*3000)); err != nil {
					b.Fatal(err)
				}
				rend += f.Timings.Render
				conv += f.Timings.Convert
				enc += t1.Sub(t0)
				send += time.Since(t1)
			}
			n := float64(b.N)
			ms := func(d time.Duration) float64 { return float64(d) / n / 1e6 }
			b.ReportMetric(ms(rend), "render-ms/frame")
			b.ReportMetric(ms(conv), "convert-ms/frame")
			b.ReportMetric(ms(enc), "encode-ms/frame")
			b.ReportMetric(ms(send), "send-ms/frame")
			b.ReportMetric(ms(rend+conv+enc+send), "total-ms/frame")
		})
	}
}
