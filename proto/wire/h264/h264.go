// Package h264 holds the H.264 bitstream helpers of the wire contract:
// splitting an Annex-B byte stream into NAL units and classifying them, so
// that the node's encoders and the clients' depacketisers detect key frames
// and in-band parameter sets from the bytes themselves rather than trusting
// an encoder's or a packet's flags.
//
// Everything here is pure Go, allocation-light and safe on arbitrary input:
// malformed or truncated data yields fewer NAL units, never a panic.
package h264

import (
	"bytes"
	"strconv"
)

// NALUnitType is the 5-bit nal_unit_type of an H.264 NAL unit header
// (ITU-T H.264 Table 7-1).
type NALUnitType uint8

// NAL unit types that matter for streaming.
const (
	NALUnspecified NALUnitType = 0  // unspecified; also returned for an empty NAL unit
	NALSlice       NALUnitType = 1  // coded slice of a non-IDR picture
	NALSliceDPA    NALUnitType = 2  // coded slice data partition A
	NALSliceDPB    NALUnitType = 3  // coded slice data partition B
	NALSliceDPC    NALUnitType = 4  // coded slice data partition C
	NALIDR         NALUnitType = 5  // coded slice of an IDR picture
	NALSEI         NALUnitType = 6  // supplemental enhancement information
	NALSPS         NALUnitType = 7  // sequence parameter set
	NALPPS         NALUnitType = 8  // picture parameter set
	NALAUD         NALUnitType = 9  // access unit delimiter
	NALEndSeq      NALUnitType = 10 // end of sequence
	NALEndStream   NALUnitType = 11 // end of stream
	NALFiller      NALUnitType = 12 // filler data
)

// String returns a short name for well-known types and "type N" otherwise.
func (t NALUnitType) String() string {
	switch t {
	case NALSlice:
		return "slice"
	case NALSliceDPA:
		return "slice-dpa"
	case NALSliceDPB:
		return "slice-dpb"
	case NALSliceDPC:
		return "slice-dpc"
	case NALIDR:
		return "idr"
	case NALSEI:
		return "sei"
	case NALSPS:
		return "sps"
	case NALPPS:
		return "pps"
	case NALAUD:
		return "aud"
	case NALEndSeq:
		return "end-of-seq"
	case NALEndStream:
		return "end-of-stream"
	case NALFiller:
		return "filler"
	}
	return "type " + strconv.Itoa(int(t))
}

var startCode = []byte{0, 0, 1}

// SplitAnnexB splits an Annex-B byte stream (NAL units each preceded by a
// 3-byte 00 00 01 or 4-byte 00 00 00 01 start code) into NAL units, without
// their start codes. Bytes before the first start code are ignored, as are
// the zero bytes before each start code (trailing_zero_8bits and the leading
// zero of a 4-byte start code); a NAL unit never ends in a zero byte, so
// nothing of a valid NAL unit is lost. Empty NAL units are dropped.
//
// The returned slices alias b; no bytes are copied. It returns nil when b
// holds no start code followed by a NAL unit.
func SplitAnnexB(b []byte) [][]byte {
	i := bytes.Index(b, startCode)
	if i < 0 {
		return nil
	}
	var nals [][]byte
	start := i + len(startCode)
	for start <= len(b) {
		next := bytes.Index(b[start:], startCode)
		end := len(b)
		if next >= 0 {
			end = start + next
		}
		nal := b[start:end]
		for len(nal) > 0 && nal[len(nal)-1] == 0 {
			nal = nal[:len(nal)-1]
		}
		if len(nal) > 0 {
			nals = append(nals, nal)
		}
		if next < 0 {
			break
		}
		start = end + len(startCode)
	}
	return nals
}

// NALType returns the nal_unit_type of a NAL unit (without start code), or
// NALUnspecified for an empty one.
func NALType(nal []byte) NALUnitType {
	if len(nal) == 0 {
		return NALUnspecified
	}
	return NALUnitType(nal[0] & 0x1f)
}

// IsKeyFrame reports whether the Annex-B access unit au contains a coded
// slice of an IDR picture (NAL type 5), i.e. whether a decoder can start
// decoding at it (given the parameter sets, see HasParameterSets).
func IsKeyFrame(au []byte) bool {
	for _, nal := range SplitAnnexB(au) {
		if NALType(nal) == NALIDR {
			return true
		}
	}
	return false
}

// HasParameterSets reports whether the Annex-B access unit au carries both
// a sequence parameter set (type 7) and a picture parameter set (type 8)
// in-band.
func HasParameterSets(au []byte) bool {
	var sps, pps bool
	for _, nal := range SplitAnnexB(au) {
		switch NALType(nal) {
		case NALSPS:
			sps = true
		case NALPPS:
			pps = true
		}
	}
	return sps && pps
}

// Types returns the NAL unit types of the Annex-B access unit au, in order.
// It is meant for logs and tests.
func Types(au []byte) []NALUnitType {
	nals := SplitAnnexB(au)
	ts := make([]NALUnitType, len(nals))
	for i, nal := range nals {
		ts[i] = NALType(nal)
	}
	return ts
}
