package signaling

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// checkOffer validates what the node needs from an offer: it parses, has a
// receiving video m-line, and that m-line offers H.264.
func checkOffer(offer string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformedSDP, err)
	}
	var sawVideo, sawH264, sawRecv bool
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		sawVideo = true
		recv := true
		for _, a := range m.Attributes {
			switch a.Key {
			case "sendonly", "inactive":
				recv = false
			case "rtpmap":
				if i := strings.IndexByte(a.Value, ' '); i > 0 && strings.HasPrefix(strings.ToUpper(a.Value[i+1:]), "H264/") {
					sawH264 = true
				}
			}
		}
		if m.MediaName.Port.Value == 0 {
			recv = false
		}
		sawRecv = sawRecv || recv
	}
	switch {
	case !sawVideo:
		return ErrNoVideo
	case !sawH264:
		return ErrNoH264
	case !sawRecv:
		return ErrVideoNotReceived
	}
	return nil
}
