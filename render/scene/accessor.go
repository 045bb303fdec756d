package scene

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/qmuntal/gltf"
)

// componentSize returns the byte size of a component type.
func componentSize(c gltf.ComponentType) int {
	switch c {
	case gltf.ComponentByte, gltf.ComponentUbyte:
		return 1
	case gltf.ComponentShort, gltf.ComponentUshort:
		return 2
	}
	return 4
}

// accessorSpan checks accessor i against its buffer view and returns the
// view's bytes from the accessor's offset, the element stride and size.
// Every element it describes lies inside the view, so count is bounded by
// the bytes actually present.
func (l *loader) accessorSpan(i int, want gltf.AccessorType) (*gltf.Accessor, []byte, int, error) {
	if i < 0 || i >= len(l.doc.Accessors) {
		return nil, nil, 0, fmt.Errorf("%w: accessor %d does not exist", ErrInvalid, i)
	}
	a := l.doc.Accessors[i]
	if a.Type != want {
		return nil, nil, 0, fmt.Errorf("%w: accessor %d: type %v, want %v", ErrInvalid, i, a.Type, want)
	}
	if a.Sparse != nil {
		return nil, nil, 0, fmt.Errorf("accessor %d: sparse accessors: %w", i, ErrUnsupported)
	}
	if a.Count < 0 {
		return nil, nil, 0, fmt.Errorf("%w: accessor %d: count %d", ErrInvalid, i, a.Count)
	}
	if a.BufferView == nil {
		return nil, nil, 0, fmt.Errorf("accessor %d: no bufferView (all zeros): %w", i, ErrUnsupported)
	}
	view, stride, err := l.bufferView(*a.BufferView)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("accessor %d: %w", i, err)
	}
	elem := componentSize(a.ComponentType) * a.Type.Components()
	if stride == 0 {
		stride = elem
	}
	if stride < elem {
		return nil, nil, 0, fmt.Errorf("%w: accessor %d: stride %d smaller than element %d", ErrInvalid, i, stride, elem)
	}
	if a.ByteOffset < 0 || a.ByteOffset > len(view) {
		return nil, nil, 0, fmt.Errorf("%w: accessor %d: byteOffset %d outside view of %d bytes", ErrInvalid, i, a.ByteOffset, len(view))
	}
	if a.Count > 0 {
		need := int64(a.ByteOffset) + int64(a.Count-1)*int64(stride) + int64(elem)
		if need > int64(len(view)) {
			return nil, nil, 0, fmt.Errorf("%w: accessor %d: %d elements need %d bytes, view has %d", ErrInvalid, i, a.Count, need, len(view))
		}
	}
	return a, view[a.ByteOffset:], stride, nil
}

// floats reads accessor i (of type want) as float32 tuples of n
// components; integer components are normalized when the accessor says
// so. Non-finite values are an error.
func (l *loader) floats(i int, want gltf.AccessorType) ([]float32, error) {
	a, b, stride, err := l.accessorSpan(i, want)
	if err != nil {
		return nil, err
	}
	n := want.Components()
	cs := componentSize(a.ComponentType)
	if a.ComponentType != gltf.ComponentFloat && !a.Normalized {
		return nil, fmt.Errorf("%w: accessor %d: integer components must be normalized here", ErrUnsupported, i)
	}
	out := make([]float32, a.Count*n)
	for e := range a.Count {
		p := b[e*stride:]
		for c := range n {
			q := p[c*cs:]
			var v float32
			switch a.ComponentType {
			case gltf.ComponentFloat:
				v = math.Float32frombits(binary.LittleEndian.Uint32(q))
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return nil, fmt.Errorf("%w: accessor %d: element %d is not finite", ErrInvalid, i, e)
				}
			case gltf.ComponentUbyte:
				v = float32(q[0]) / 255
			case gltf.ComponentByte:
				v = max(float32(int8(q[0]))/127, -1)
			case gltf.ComponentUshort:
				v = float32(binary.LittleEndian.Uint16(q)) / 65535
			case gltf.ComponentShort:
				v = max(float32(int16(binary.LittleEndian.Uint16(q)))/32767, -1)
			default:
				return nil, fmt.Errorf("%w: accessor %d: component type %v", ErrInvalid, i, a.ComponentType)
			}
			out[e*n+c] = v
		}
	}
	return out, nil
}

// indices reads a SCALAR index accessor; every index must be below nv.
func (l *loader) indices(i, nv int) ([]uint32, error) {
	a, b, stride, err := l.accessorSpan(i, gltf.AccessorScalar)
	if err != nil {
		return nil, err
	}
	out := make([]uint32, a.Count)
	for e := range a.Count {
		p := b[e*stride:]
		var v uint32
		switch a.ComponentType {
		case gltf.ComponentUbyte:
			v = uint32(p[0])
		case gltf.ComponentUshort:
			v = uint32(binary.LittleEndian.Uint16(p))
		case gltf.ComponentUint:
			v = binary.LittleEndian.Uint32(p)
		default:
			return nil, fmt.Errorf("%w: index accessor %d: component type %v", ErrInvalid, i, a.ComponentType)
		}
		if int64(v) >= int64(nv) {
			return nil, fmt.Errorf("%w: index accessor %d: index %d out of range (%d vertices)", ErrInvalid, i, v, nv)
		}
		out[e] = v
	}
	return out, nil
}
