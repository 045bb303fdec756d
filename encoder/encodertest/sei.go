package encodertest

import "github.com/holocast/holocast/proto/wire/h264"

// seiRecoveryPoint is the SEI payloadType of a recovery point (ITU-T H.264
// D.1.8): decoding can start at this picture and is exact after
// recovery_frame_cnt more frames, as after an intra refresh wave.
const seiRecoveryPoint = 6

// HasRecoveryPoint reports whether the Annex-B access unit au carries a
// recovery point SEI message.
func HasRecoveryPoint(au []byte) bool {
	for _, nal := range h264.SplitAnnexB(au) {
		if h264.NALType(nal) != h264.NALSEI {
			continue
		}
		for _, t := range seiPayloadTypes(unescape(nal[1:])) {
			if t == seiRecoveryPoint {
				return true
			}
		}
	}
	return false
}

// unescape removes the emulation prevention bytes (00 00 03 -> 00 00) of
// a NAL unit's payload.
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// seiPayloadTypes lists the payloadType of each message of an SEI RBSP.
func seiPayloadTypes(rbsp []byte) []int {
	var types []int
	i := 0
	read := func() (int, bool) { // ff-coded value (7.3.5)
		v := 0
		for i < len(rbsp) {
			c := rbsp[i]
			i++
			v += int(c)
			if c != 0xff {
				return v, true
			}
		}
		return 0, false
	}
	// Stop at the rbsp trailing bits (a lone 0x80).
	for i < len(rbsp) && (i != len(rbsp)-1 || rbsp[i] != 0x80) {
		t, ok := read()
		if !ok {
			break
		}
		size, ok := read()
		if !ok || size > len(rbsp)-i {
			break
		}
		types = append(types, t)
		i += size
	}
	return types
}
