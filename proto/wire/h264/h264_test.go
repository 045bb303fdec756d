package h264

import (
	"bytes"
	"reflect"
	"testing"
)

func TestSplitAnnexB(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1f}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	idr := []byte{0x65, 0x88, 0x84, 0x00, 0x03, 0x21}
	p := []byte{0x41, 0x9a, 0x00, 0x00, 0x03, 0x01}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	sc4 := []byte{0, 0, 0, 1}
	sc3 := []byte{0, 0, 1}

	tests := []struct {
		name string
		in   []byte
		want [][]byte
	}{
		{"nil", nil, nil},
		{"no start code", []byte{0x65, 1, 2, 3}, nil},
		{"only start code", sc4, nil},
		{"4-byte", cat(sc4, sps, sc4, pps, sc4, idr), [][]byte{sps, pps, idr}},
		{"3-byte", cat(sc3, sps, sc3, pps, sc3, idr), [][]byte{sps, pps, idr}},
		{"mixed", cat(sc4, sps, sc3, pps, sc4, p), [][]byte{sps, pps, p}},
		{"garbage before first", cat([]byte{0xff, 0xee}, sc3, idr), [][]byte{idr}},
		{"trailing zeros", cat(sc4, sps, []byte{0, 0, 0}, sc4, idr, []byte{0, 0}), [][]byte{sps, idr}},
		{"empty nal between", cat(sc4, sc4, sps), [][]byte{sps}},
		{"emulation prevented zeros kept", cat(sc3, p), [][]byte{p}},
		{"truncated start code", cat(sc4, sps, []byte{0, 0}), [][]byte{sps}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SplitAnnexB(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SplitAnnexB(% x) = % x, want % x", tt.in, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	key := []byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88}
	delta := []byte{0, 0, 0, 1, 0x41, 0x9a}
	idrOnly := []byte{0, 0, 1, 0x65, 0x88}
	if !IsKeyFrame(key) || !HasParameterSets(key) {
		t.Errorf("key AU: IsKeyFrame=%v HasParameterSets=%v", IsKeyFrame(key), HasParameterSets(key))
	}
	if IsKeyFrame(delta) || HasParameterSets(delta) {
		t.Errorf("delta AU classified as key or with parameter sets")
	}
	if !IsKeyFrame(idrOnly) || HasParameterSets(idrOnly) {
		t.Errorf("IDR-only AU: IsKeyFrame=%v HasParameterSets=%v", IsKeyFrame(idrOnly), HasParameterSets(idrOnly))
	}
	if got, want := Types(key), []NALUnitType{NALSPS, NALPPS, NALIDR}; !reflect.DeepEqual(got, want) {
		t.Errorf("Types = %v, want %v", got, want)
	}
	if NALType(nil) != NALUnspecified {
		t.Errorf("NALType(nil) != NALUnspecified")
	}
	if s := NALUnitType(24).String(); s != "type 24" {
		t.Errorf("String() = %q", s)
	}
}

// FuzzSplitAnnexB checks that the splitter never panics and that its output
// is consistent: non-empty NAL units that alias the input in order, contain
// no start code, do not end in a zero byte, and re-split to themselves when
// joined with start codes again.
func FuzzSplitAnnexB(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 1})
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88, 0, 0})
	f.Add([]byte{0, 0, 1, 0, 0, 1, 0, 1, 0, 0})
	f.Add([]byte{0xff, 0, 0, 1, 0x41, 0, 0, 3, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		nals := SplitAnnexB(b)
		_ = IsKeyFrame(b)
		_ = HasParameterSets(b)
		_ = Types(b)
		pos := 0
		for i, nal := range nals {
			if len(nal) == 0 {
				t.Fatalf("NAL %d is empty", i)
			}
			if nal[len(nal)-1] == 0 {
				t.Fatalf("NAL %d ends in a zero byte", i)
			}
			if bytes.Contains(nal, startCode) {
				t.Fatalf("NAL %d contains a start code", i)
			}
			_ = NALType(nal).String()
			// Must be a sub-slice of b at or after pos.
			off := bytes.Index(b[pos:], nal)
			if off < 0 {
				t.Fatalf("NAL %d not found in input after offset %d", i, pos)
			}
			pos += off + len(nal)
		}
		var joined []byte
		for _, nal := range nals {
			joined = append(joined, 0, 0, 0, 1)
			joined = append(joined, nal...)
		}
		again := SplitAnnexB(joined)
		if len(again) != len(nals) {
			t.Fatalf("re-split gives %d NAL units, want %d", len(again), len(nals))
		}
		for i := range nals {
			if !bytes.Equal(again[i], nals[i]) {
				t.Fatalf("re-split NAL %d = % x, want % x", i, again[i], nals[i])
			}
		}
	})
}
