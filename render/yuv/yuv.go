//go:build cgo

package yuv

/*
#cgo LDFLAGS: -lyuv
#include <stdint.h>
#include <libyuv/convert.h>
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/holocast/holocast/render"
)

// ConvertRGBA converts a tightly packed w×h RGBA8 image (alpha ignored)
// into dst as I420, with the contract of render.ConvertRGBA: w and h
// positive and even, dst made by render.NewFrame(w, h), rgba at least
// w*h*4 bytes, and with flipY the first row of rgba the bottom of the
// picture (as glReadPixels returns it).
func ConvertRGBA(dst *render.Frame, rgba []byte, w, h int, flipY bool) error {
	if err := render.CheckConvert(dst, rgba, w, h); err != nil {
		return fmt.Errorf("yuv: %w", err)
	}
	// libyuv names formats by the word's byte order from the least
	// significant byte: bytes R, G, B, A in memory are its "ABGR". A
	// negative height reads the source bottom up.
	height := C.int(h)
	if flipY {
		height = -height
	}
	//nolint:gosec // CheckConvert checked the sizes; libyuv reads and writes within them
	ret := C.ABGRToI420((*C.uint8_t)(unsafe.Pointer(&rgba[0])), C.int(w*4),
		(*C.uint8_t)(unsafe.Pointer(&dst.Y[0])), C.int(w),
		(*C.uint8_t)(unsafe.Pointer(&dst.U[0])), C.int(w/2),
		(*C.uint8_t)(unsafe.Pointer(&dst.V[0])), C.int(w/2),
		C.int(w), height)
	if ret != 0 {
		return fmt.Errorf("yuv: convert: libyuv ABGRToI420 %dx%d failed (%d)", w, h, int(ret))
	}
	return nil
}
