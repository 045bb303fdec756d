//go:build cgo

package x264_test

import (
	"fmt"
	"log"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/x264"
	"github.com/holocast/holocast/render"
)

// ExampleNew encodes a few frames; each AccessUnit's Data would go to an
// RTP H.264 packetizer (the session uses pion's), one access unit a frame.
func ExampleNew() {
	enc, err := x264.New(encoder.Config{
		Width: 640, Height: 360, // a resolution change needs a new Encoder
		FPS:     60,
		BitRate: 2_000_000,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer enc.Close()
	keys := enc.(encoder.KeyFrameController) // an optional ability

	f := &render.Frame{Width: 640, Height: 360,
		Y: make([]byte, 640*360), U: make([]byte, 320*180), V: make([]byte, 320*180)}
	for i := range 3 {
		for j := range f.Y {
			f.Y[j] = byte(16 + (j+4*i)%200) // something that changes
		}
		if i == 2 {
			keys.ForceKeyFrame() // e.g. on an RTCP PLI from the headset
		}
		au, err := enc.Encode(f)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("frame %d: key frame %v, has data %v\n", i, au.KeyFrame, len(au.Data) > 0)
	}
	// Output:
	// frame 0: key frame true, has data true
	// frame 1: key frame false, has data true
	// frame 2: key frame true, has data true
}
