package yuv_test

import (
	"fmt"

	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/yuv"
)

// A white RGBA picture becomes limited-range white: Y 235, U and V 128.
func ExampleConvertRGBA() {
	w, h := 4, 2
	rgba := make([]byte, w*h*4)
	for i := range rgba {
		rgba[i] = 255
	}
	f, err := render.NewFrame(w, h)
	if err != nil {
		panic(err)
	}
	if err := yuv.ConvertRGBA(f, rgba, w, h, true); err != nil {
		panic(err)
	}
	fmt.Println(f.Y[0], f.U[0], f.V[0])
	// Output: 235 128 128
}
