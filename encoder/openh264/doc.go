// Package openh264 is the OpenH264 back-end of the encoder contract: Cisco's
// OpenH264, statically linked from the library bundled in
// github.com/pion/mediadevices/pkg/codec/openh264. It needs cgo; without cgo
// the package is empty.
//
// Quirks of the library and its mediadevices wrapper this package handles
// (measured with the OpenH264 library bundled with mediadevices v0.9.4):
//
//   - With mediadevices' default parameters OpenH264 skips frames under
//     rate pressure and then returns 0-byte output. New turns frame skipping
//     off (Params.EnableFrameSkip = false), so every Encode yields a
//     picture; should the library still return nothing for a frame, Encode
//     returns an AccessUnit with nil Data and a nil error ("no frame this
//     time"), which callers must simply not send, and a pending
//     ForceKeyFrame carries over to the next frame. The price of not
//     skipping: when the content cannot fit the rate even at OpenH264's
//     highest QP, the stream overshoots (measured: 1280x720 with heavy
//     per-pixel grain at 1 Mbit/s, 1.6× at 30 fps and 2.2× at 60 fps; with
//     moderate content it holds within about 0.85-1.25×). OpenH264 itself
//     warns about this on stderr at New ("bitrate can't be controlled ...
//     without enabling skip frame"); for an interactive VR stream a late
//     frame is better than a skipped one, and SetBitRate remains the lever.
//   - OpenH264 gets the real frame rate, so it needs no bit-rate scaling.
//     It takes the key frame interval from Params.IntraPeriod (the wrapper
//     ignores BaseParams.KeyFrameInterval), cuts each picture into slices of
//     at most about 12800 bytes (mediadevices' default), ignores
//     Config.Preset, and its wrapper's SetBitRate ignores OpenH264's result
//     code, so a rejected rate change goes unnoticed.
//   - Levels are chosen by the library (4.2 for 1920x1080 at 72 fps, 3.2 for
//     1280x720), which may exceed the level of an SDP profile-level-id;
//     browsers decode such streams regardless.
//   - Its C bridge (mediadevices') defines enc_new/enc_encode, so it cannot
//     be linked together with mediadevices' own x264 package; the project's
//     encoder/x264 binding uses names of its own and links with it.
package openh264
