package encodertest

import "testing"

func TestHasRecoveryPoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		au   []byte
		want bool
	}{
		// SEI NAL (0x06), payloadType 6, size 2, recovery_frame_cnt etc., trailing bits.
		{"recovery point", []byte{0, 0, 0, 1, 0x06, 6, 2, 0xa4, 0x40, 0x80}, true},
		// A user-data SEI (type 5) of 3 bytes, then a recovery point.
		{"second message", []byte{0, 0, 1, 0x06, 5, 3, 1, 2, 3, 6, 1, 0x84, 0x80}, true},
		// Emulation prevention inside the first payload must not shift the parse.
		{"escaped payload", []byte{0, 0, 1, 0x06, 5, 4, 0, 0, 3, 1, 9, 6, 1, 0x84, 0x80}, true},
		{"user data only", []byte{0, 0, 1, 0x06, 5, 2, 7, 7, 0x80}, false},
		{"payload type 6 inside another payload", []byte{0, 0, 1, 0x06, 5, 2, 6, 1, 0x80}, false},
		{"truncated", []byte{0, 0, 1, 0x06, 6, 9, 1}, false},
		{"ff-coded type 6+255", []byte{0, 0, 1, 0x06, 0xff, 6, 1, 0, 0x80}, false},
		{"not an SEI", []byte{0, 0, 1, 0x65, 6, 1, 0}, false},
		{"empty", nil, false},
	} {
		if got := HasRecoveryPoint(tc.au); got != tc.want {
			t.Errorf("%s: HasRecoveryPoint = %v, want %v", tc.name, got, tc.want)
		}
	}
}
