package headset

import "errors"

// ErrNoChannels is returned when sending on a client dialled with
// NoDataChannels, or before the channel is open.
var ErrNoChannels = errors.New("headset: data channel not available")
