//go:build !cgo

package yuv

import "github.com/holocast/holocast/render"

// ConvertRGBA is render.ConvertRGBA in a build without cgo.
func ConvertRGBA(dst *render.Frame, rgba []byte, w, h int, flipY bool) error {
	return render.ConvertRGBA(dst, rgba, w, h, flipY)
}
