package node

import (
	"net"
	"net/netip"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/session"
	"github.com/holocast/holocast/signaling"
)

// grantedOutput returns a session's initial output and limits: the
// node's, capped by what the session's credential grants (a JWT's
// max_width, max_height, max_fps). The size is rounded down as
// DeviceConfig sizes are (width a multiple of 4, height even).
func grantedOutput(cfg Config, g auth.Grant) (session.Output, session.Limits) {
	lim := cfg.Limits
	capTo := func(v *int, c int) {
		if c > 0 && c < *v {
			*v = c
		}
	}
	capTo(&lim.MaxWidth, g.MaxWidth)
	capTo(&lim.MaxHeight, g.MaxHeight)
	capTo(&lim.MaxFPS, g.MaxFPS)
	w, h, fps := min(cfg.Width, lim.MaxWidth)&^3, min(cfg.Height, lim.MaxHeight)&^1, min(cfg.FPS, lim.MaxFPS)
	return session.Output{Width: w, Height: h, FPS: fps, Device: render.DefaultDevice(w/2, h)}, lim
}

// grantedDuration returns the shorter of a node's session lifetime and the
// one a credential grants (a JWT's max_session_s); 0 means no limit.
func grantedDuration(node time.Duration, g auth.Grant) time.Duration {
	switch {
	case g.MaxSession <= 0:
		return node
	case node <= 0:
		return g.MaxSession
	}
	return min(node, g.MaxSession)
}

// filterRemoteAddresses makes ICE ignore remote candidates whose address
// the node must not send to (signaling.ForbiddenAddress): the backstop
// behind the offer check, for addresses that only appear once ICE runs
// (mDNS names resolved, peer-reflexive candidates).
func filterRemoteAddresses(se *webrtc.SettingEngine, allowLoopback bool) {
	se.SetRemoteIPFilter(func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		return ok && signaling.ForbiddenAddress(a, allowLoopback) == ""
	})
}
