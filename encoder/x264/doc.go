// Package x264 is the libx264 back-end of the encoder contract, through
// github.com/pion/mediadevices/pkg/codec/x264. It needs cgo, pkg-config and
// libx264 (Debian libx264-dev) at build time; without cgo the package is
// empty (use encoder/builtin, which reports the missing back-end).
//
// Quirks of the mediadevices wrapper this package handles (measured with
// libx264 0.164 and mediadevices v0.9.4):
//
//   - The wrapper always uses x264's "zerolatency" tune and never sets the
//     frame rate, so x264 assumes 25 fps: its ABR rate control hands out
//     bitrate/25 bits per frame, and the SPS VUI timing advertises 25 fps.
//     New therefore passes BitRate*25/FPS to it (also in SetBitRate) so
//     that the stream comes out at the requested bits per second when
//     frames arrive at FPS. The VUI frame rate stays wrong; it is
//     irrelevant over RTP, where timestamps carry the timing.
//   - The wrapper reads planes assuming Y stride = width and chroma stride
//     = width/2, exactly render.Frame's layout; Encode checks the frame
//     size and plane lengths first (encoder.CheckFrame), since a mismatch
//     would make libx264 read out of bounds.
//   - At preset "ultrafast" (the default) x264 emits Constrained Baseline
//     (no CABAC, no 8x8 transform); from "superfast" up it emits High
//     profile, which browsers (Chromium) still decode but which does not
//     match a 42e01f (Constrained Baseline) SDP offer.
//   - The wrapper's SetBitRate re-configures x264 with a VBV maximum of the
//     new rate plus 5 Mbit/s, i.e. after the first SetBitRate the VBV cap is
//     effectively loose and only the ABR target holds; it silently ignores
//     a scaled rate under 2 kbit/s.
//   - libx264 logs its end-of-stream statistics ("x264 [info]: ...") to
//     stderr on Close; the wrapper offers no way to change its log level.
//   - Levels are chosen by libx264 (4.0 for 1920x1080 at 72 fps, 3.1 for
//     1280x720), which may exceed the level in an SDP profile-level-id such
//     as 42e01f (3.1); browsers decode such streams regardless.
//   - This package and encoder/openh264 cannot be linked into one binary:
//     both C bridges define enc_new/enc_encode.
package x264
