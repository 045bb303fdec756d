package egl

import "errors"

// ErrNoDevice is returned when the device platform is not available or has
// no usable device.
var ErrNoDevice = errors.New("no usable EGL device")

// ErrNoCgo is returned by Open in a build without cgo, which cannot call
// libEGL.
var ErrNoCgo = errors.New("egl: built without cgo, so there is no EGL")
