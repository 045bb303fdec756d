// Package yuv converts the renderer's RGBA read-back to I420 with libyuv
// (Debian's libyuv-dev), the converter libwebrtc and Chromium use: its
// SSSE3/AVX2 row functions convert a 1280×720 frame several times faster
// than the portable Go conversion (render.ConvertRGBA), on one core,
// which leaves the CPU to rendering and encoding when several sessions
// share a node. The matrix is the same (BT.601, limited range, chroma the
// average of each 2×2 block); samples may differ from render.ConvertRGBA
// by rounding (at most 2; the tests bound it).
//
// Built without cgo, ConvertRGBA is render.ConvertRGBA (the renderer
// needs cgo for EGL anyway).
package yuv
