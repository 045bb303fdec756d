package signaling

import (
	"errors"
	"testing"
)

const videoOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtpmap:102 H264/90000\r\n"

func TestCheckOffer(t *testing.T) {
	tests := []struct {
		name  string
		offer string
		want  error
	}{
		{"recvonly H.264", videoOffer, nil},
		{"not SDP", "hello", ErrMalformedSDP},
		{"no video", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", ErrNoVideo},
		{"VP8 only", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n", ErrNoH264},
		{"sendonly", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=sendonly\r\na=rtpmap:102 H264/90000\r\n", ErrVideoNotReceived},
		{"rejected m-line", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 0 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\n", ErrVideoNotReceived},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkOffer(tt.offer); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzCheckOffer: arbitrary request bodies never panic the SDP check.
func FuzzCheckOffer(f *testing.F) {
	f.Add(videoOffer)
	f.Add("v=0\r\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		_ = checkOffer(s)
	})
}
