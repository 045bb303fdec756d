// Package x264 is the libx264 back-end of the encoder contract: a thin cgo
// binding of its own to the system's libx264 (Debian libx264-dev, found
// through pkg-config). It needs cgo at build time; without cgo the package
// is empty (use encoder/builtin, which reports the missing back-end). Its C
// helpers are static and named holocast_x264_*, so it links into one
// binary with any other C bridge, encoder/openh264's included.
//
// # Latency
//
// x264 is opened with the "zerolatency" tune and the Config's preset
// (default ultrafast), no B-frames, no look-ahead, no MB-tree and one
// reference frame; New refuses to run if x264 reports it might delay a
// frame, so every Encode returns the access unit of the frame it was given.
// x264 gets the real frame rate (Config.FPS), so its per-frame bit budget
// is BitRate/FPS for Encode; EncodeAt budgets by the frame's real duration
// (see "Frames that come slower" below). Output is Annex-B with SPS and PPS in front of every IDR
// and every refresh point, in the Constrained Baseline profile (profile_idc
// 66, constraint_set0 and constraint_set1: x264's "baseline" profile,
// applied at every preset: no CABAC, no 8x8 transform, no weighted
// prediction), which browsers decode under a 42e01f offer. The level is
// x264's choice for the initial size, rate and frame rate; a later
// SetBitRate does not change it, and receivers do not enforce it.
//
// # Frame sizes the link can carry
//
// Rate control is x264's average bit rate (ABR) with a VBV whose maximum
// rate is the target rate and whose buffer holds VBVFrames (two) frame
// intervals of bits at that rate. x264 sizes each frame so that the VBV
// buffer, filled at the target rate, never runs dry, so no access unit is
// bigger than the buffer: at the target rate none needs more than two
// frame intervals of link time (66 ms at 30 fps), the first IDR and forced
// ones included (the mediadevices wrapper this package replaced let an IDR
// at 800 kbit/s reach about 30 frame intervals, 1 s of link time).
//
// Why two: one interval is x264's smallest buffer (under 1.1 intervals it
// switches to a single-frame VBV mode) and would hold every frame to about
// the same size, leaving no room for the refresh column or a burst of
// motion; more than two lets one frame queue longer at a bottleneck that
// runs at the target rate. With two, a single frame delays the next one by
// at most one extra frame interval, which a pacer spreads out, and frames
// may still vary by 2×. A frame exceeds the cap only where even x264's
// highest QP (51) cannot fit it: measured, a 1280x720 IDR needs about 3.5
// KB, 2.8 intervals at 300 kbit/s; below that rate the picture must get
// smaller (a new Encoder). With the maximum rate equal to the target, x264
// runs in its CBR mode, which undershoots: the tests measure 0.74-0.84× the
// target on content that changes all over every frame (docs/network.md has
// the table).
//
// SetBitRate changes the target, the VBV maximum rate and the buffer size
// (again two frame intervals at the new rate) without re-opening x264: the
// new values are handed to x264_encoder_reconfig at the next Encode (no
// lock is taken by SetBitRate, so a congestion controller never waits for a
// frame in progress), and they take effect on that very frame, with no IDR.
//
// # Frames that come slower
//
// x264 budgets every frame one interval of the frame rate it was opened
// with, so frames that come more slowly (a session's first second, a frame
// loop that skips ticks on a CPU-starved node) get BitRate × (actual ÷
// configured frame rate). EncodeAt (encoder.TimedEncoder) takes each
// frame's time and budgets it BitRate × its duration, the time since the
// frame before, between MinDurationFrames (a quarter) and VBVFrames (two)
// nominal intervals: before the frame, the ABR target and VBV maximum rate
// handed to x264_encoder_reconfig are the rate × that duration ÷ one
// interval, so x264's ABR window and its VBV fill grow by the real time's
// worth of bits. The VBV buffer stays VBVFrames nominal intervals at the
// rate asked for (x264 would enlarge a buffer smaller than one frame of
// its rate; the upper bound keeps it from doing so), so a frame after a
// long gap is capped like any other. x264's own VFR mode (b_vfr_input) is
// not used: it takes a frame's duration from the next frame's timestamp
// and so delays every frame by one, which New refuses; the PTS stays a
// frame counter. The frame after a gap takes more bits at once (in
// TestEncodeAtGap the frame after 300 ms takes 1.3-1.8 nominal
// intervals, within the cap).
//
// The cap costs rate at low frame rates: x264's CBR mode undershoots more
// the smaller its buffer is against the frame interval, and two nominal
// intervals are 1.33 real ones at 20 fps and one at 15.
// TestEncodeAtRate (640x360, 2 Mbit/s, opened at 30 fps) measures EncodeAt
// at 0.81× the target at 30 fps, 0.62-0.65× at 20 and 0.68× at 15, where
// Encode sends 0.81×, 0.53× and 0.37×.
//
// # Intra refresh instead of periodic IDRs
//
// The stream uses x264's periodic intra refresh: a column of intra-coded
// macroblocks sweeps across the picture, and every Config.KeyFrameInterval
// frames (default two seconds) a new sweep starts at a frame that carries
// SPS, PPS and a recovery point SEI. The cost of refreshing the picture is
// spread over the frames instead of one large IDR, and a receiver that lost
// data recovers within one sweep without asking. The only IDR pictures are
// the first frame and those asked for with ForceKeyFrame (the session does
// so on PLI/FIR, rate-limited); like every back-end, AccessUnit.KeyFrame
// reports an IDR found in the bitstream, so refresh points are not key
// frames. x264_encoder_invalidate_reference (drop the references after a
// lost frame, as an alternative to an IDR) is not used: x264 does not
// support it together with intra refresh (x264.h; it fails with an error),
// and intra refresh needs a single reference frame anyway.
//
// # Memory and concurrency
//
// Encode checks the frame's size and plane lengths first
// (encoder.CheckFrame), since libx264 reads planes of stride width and
// width/2. The planes are handed to C only for the duration of the call:
// the x264 picture that points at them lives on the C helper's stack, and
// x264 copies them into its own frame before returning. The access unit is
// copied into Go memory. No x264 picture is allocated; Close calls
// x264_encoder_close and frees the helper's state, is idempotent, and a
// runtime cleanup does the same for an Encoder dropped without Close.
// Encode, EncodeAt and Close are serialised by a mutex; ForceKeyFrame and SetBitRate
// only set atomic pending values.
//
// libx264 logs errors only (to stderr); it has nothing to say about a
// healthy stream.
package x264
