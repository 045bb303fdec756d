//go:build cgo

package yuv

/*
#cgo LDFLAGS: -lyuv
#include <stdint.h>
#include <libyuv/convert.h>
*/
import "C"

import (
	"errors"
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
	if dst == nil {
		return errors.New("yuv: convert: nil frame")
	}
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("yuv: convert: size %dx%d: width and height must be positive and even", w, h)
	}
	if dst.Width != w || dst.Height != h || len(dst.Y) < w*h || len(dst.U) < w*h/4 || len(dst.V) < w*h/4 {
		return fmt.Errorf("yuv: convert: frame is %dx%d, image is %dx%d", dst.Width, dst.Height, w, h)
	}
	if len(rgba) < w*h*4 {
		return fmt.Errorf("yuv: convert: rgba has %d bytes, want %d", len(rgba), w*h*4)
	}
	// libyuv names formats by the word's byte order from the least
	// significant byte: bytes R, G, B, A in memory are its "ABGR". A
	// negative height reads the source bottom up.
	height := C.int(h)
	if flipY {
		height = -height
	}
	//nolint:gosec // sizes were checked above; libyuv reads and writes within them
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
