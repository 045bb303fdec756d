package headset

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/signaling/link"
)

// maxAnswer bounds the size of an SDP answer read from the node.
const maxAnswer = 1 << 20

// SignalingError is an answer from the node's signaling endpoint other
// than 201 Created.
type SignalingError struct {
	// Status is the HTTP status code of the answer.
	Status int
	// Message is the answer's body, trimmed.
	Message string
}

// Error describes the answer.
func (e *SignalingError) Error() string {
	return fmt.Sprintf("headset: signaling: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// negotiate creates the offer, waits for ICE gathering to complete (the
// offer carries every candidate; there is no trickle), posts it to
// sessionsURL and applies the node's answer.
func (c *Client) negotiate(ctx context.Context, sessionsURL string) error {
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("headset: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("headset: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("headset: gathering: %w", ctx.Err())
	}
	answer, loc, err := c.post(ctx, sessionsURL, c.pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	c.location = loc
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("headset: set answer: %w", err)
	}
	return nil
}

// post sends the SDP offer to sessionsURL and returns the answer and the
// session's absolute URL from the Location header. Any status other than
// 201 Created is a *SignalingError.
func (c *Client) post(ctx context.Context, sessionsURL, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sessionsURL, strings.NewReader(offer))
	if err != nil {
		return "", "", fmt.Errorf("headset: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("headset: post offer: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", "", fmt.Errorf("headset: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", "", &SignalingError{Status: resp.StatusCode, Message: strings.TrimSpace(string(body))}
	}
	loc, err := sessionLocation(sessionsURL, resp.Header.Get("Location"))
	if err != nil {
		return "", "", err
	}
	return string(body), loc, nil
}

// sessionLocation resolves the Location header of an answer against
// sessionsURL; an empty header is an error.
func sessionLocation(sessionsURL, header string) (string, error) {
	base, err := url.Parse(sessionsURL)
	if err != nil {
		return "", fmt.Errorf("headset: %w", err)
	}
	loc, err := base.Parse(header)
	if err != nil || header == "" {
		return "", fmt.Errorf("headset: answer without a valid Location")
	}
	return loc.String(), nil
}

// iceServers asks the node which STUN/TURN servers to use: an OPTIONS
// request on sessionsURL, whose Link rel="ice-server" headers name them
// (WHEP). An answer other than 2xx names none; links that do not parse
// are an error.
func (c *Client) iceServers(ctx context.Context, sessionsURL string) ([]webrtc.ICEServer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, sessionsURL, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("headset: %w", err)
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("headset: ask for ICE servers: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, nil
	}
	links, err := link.Parse(resp.Header.Values("Link"))
	if err != nil {
		return nil, fmt.Errorf("headset: the node's ICE servers: %w", err)
	}
	var out []webrtc.ICEServer
	for _, l := range links {
		s := webrtc.ICEServer{URLs: []string{l.URL}}
		if l.Username != "" || l.Credential != "" {
			s.Username, s.Credential = l.Username, l.Credential
		}
		out = append(out, s)
	}
	return out, nil
}

// Location is the session's URL (DELETE ends it).
func (c *Client) Location() string { return c.location }

// deleteSession ends the session at the node with a DELETE on its
// Location, bounded by ctx; a client without a Location has nothing to
// end.
func (c *Client) deleteSession(ctx context.Context) error {
	if c.location == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.location, http.NoBody)
	if err != nil {
		// The Location was parsed when the session was created; a request
		// that still cannot be built is skipped, not reported.
		return nil //nolint:nilerr // see above
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("headset: delete session: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return nil
}

// authorize adds the bearer token of Options.Token, if any, to req.
func (c *Client) authorize(req *http.Request) {
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
}
