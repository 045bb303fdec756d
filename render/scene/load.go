package scene

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/qmuntal/gltf"
	// The two extensions the renderer draws decode into typed values.
	_ "github.com/qmuntal/gltf/ext/texturetransform"
	_ "github.com/qmuntal/gltf/ext/unlit"
)

// Limits bound what a file may make the loader allocate.
type Limits struct {
	// MaxFileSize bounds the .gltf/.glb file and each external buffer or
	// image file, in bytes.
	MaxFileSize int64
	// MaxTriangles bounds the triangles of the whole model after node
	// instancing (a mesh used by several nodes counts each time).
	MaxTriangles int
	// MaxVertices bounds the vertices of the whole model, likewise.
	MaxVertices int
	// MaxDepth bounds the nesting of the node hierarchy.
	MaxDepth int
	// MaxNodes bounds the node instances visited (a node reachable along
	// several paths counts once per path).
	MaxNodes int
	// MaxTexturePixels bounds one image's width×height; MaxTotalPixels
	// bounds all images together.
	MaxTexturePixels, MaxTotalPixels int
}

// DefaultLimits fit a node with a few GiB of memory: up to 20 million
// triangles, 100k node instances, 1 GiB files and 4096×4096 textures.
var DefaultLimits = Limits{
	MaxFileSize:      1 << 30,
	MaxTriangles:     20_000_000,
	MaxVertices:      30_000_000,
	MaxDepth:         128,
	MaxNodes:         100_000,
	MaxTexturePixels: 4096 * 4096,
	MaxTotalPixels:   64 << 20,
}

// ErrUnsupported is wrapped by errors about files the node cannot draw
// (e.g. a required extension).
var ErrUnsupported = errors.New("unsupported")

// ErrInvalid is wrapped by errors about malformed files.
var ErrInvalid = errors.New("invalid glTF")

// ErrLimit is wrapped by errors about files beyond Limits.
var ErrLimit = errors.New("beyond the loader's limits")

// Load reads a .gltf or .glb file with DefaultLimits. External buffers and
// images are read from the file's directory and may not leave it.
func Load(file string) (*Model, error) { return LoadWithLimits(file, DefaultLimits) }

// LoadWithLimits is Load with explicit limits.
func LoadWithLimits(file string, lim Limits) (*Model, error) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("scene: %w", err)
	}
	defer func() { _ = root.Close() }()
	fsys := root.FS()
	data, err := readLimited(fsys, base, lim.MaxFileSize, -1)
	if err != nil {
		return nil, fmt.Errorf("scene: %s: %w", file, err)
	}
	m, err := Decode(data, fsys, lim)
	if err != nil {
		return nil, fmt.Errorf("scene: %s: %w", file, err)
	}
	m.Name = strings.TrimSuffix(base, filepath.Ext(base))
	return m, nil
}

// readLimited reads name from fsys, refusing files larger than max. want,
// if not negative, is how many bytes are needed: a shorter file is an
// error (truncated) and only want bytes are read.
func readLimited(fsys fs.FS, name string, max, want int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	size := st.Size()
	if size > max {
		return nil, fmt.Errorf("%s: %d bytes: %w (at most %d)", name, size, ErrLimit, max)
	}
	if want >= 0 {
		if size < want {
			return nil, fmt.Errorf("%s: %w: truncated: %d bytes, %d declared", name, ErrInvalid, size, want)
		}
		size = want
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

const (
	glbMagic     = 0x46546C67 // "glTF"
	glbChunkJSON = 0x4E4F534A
	glbChunkBIN  = 0x004E4942
)

// Decode builds a Model from the bytes of a .gltf or .glb file; fsys, if
// not nil, provides the external buffers and images named by relative
// URIs (nil: only embedded data is allowed). Model.Name is left empty.
func Decode(data []byte, fsys fs.FS, lim Limits) (*Model, error) {
	if int64(len(data)) > lim.MaxFileSize {
		return nil, fmt.Errorf("%d bytes: %w (at most %d)", len(data), ErrLimit, lim.MaxFileSize)
	}
	jsonData, bin, err := splitGLB(data)
	if err != nil {
		return nil, err
	}
	var doc gltf.Document
	if err := json.Unmarshal(jsonData, &doc); err != nil {
		return nil, fmt.Errorf("%w: JSON: %w", ErrInvalid, err)
	}
	if err := checkExtensions(&doc); err != nil {
		return nil, err
	}
	l := &loader{doc: &doc, fsys: fsys, lim: lim, bin: bin}
	if err := l.loadBuffers(); err != nil {
		return nil, err
	}
	return l.build()
}

// splitGLB returns the JSON and BIN chunks of a GLB file, or data itself
// and no BIN chunk for a .gltf file.
func splitGLB(data []byte) (jsonData, bin []byte, err error) {
	if len(data) < 4 || binary.LittleEndian.Uint32(data) != glbMagic {
		return data, nil, nil
	}
	if len(data) < 20 {
		return nil, nil, fmt.Errorf("%w: GLB: truncated header", ErrInvalid)
	}
	if v := binary.LittleEndian.Uint32(data[4:]); v != 2 {
		return nil, nil, fmt.Errorf("%w: GLB version %d, want 2", ErrInvalid, v)
	}
	total := int64(binary.LittleEndian.Uint32(data[8:]))
	if total < 12 || total > int64(len(data)) {
		return nil, nil, fmt.Errorf("%w: GLB: truncated: %d bytes, header says %d", ErrInvalid, len(data), total)
	}
	rest := data[12:total]
	for len(rest) > 0 {
		if len(rest) < 8 {
			return nil, nil, fmt.Errorf("%w: GLB: truncated chunk header", ErrInvalid)
		}
		n := int64(binary.LittleEndian.Uint32(rest))
		typ := binary.LittleEndian.Uint32(rest[4:])
		if n > int64(len(rest)-8) {
			return nil, nil, fmt.Errorf("%w: GLB: chunk of %d bytes, only %d left", ErrInvalid, n, len(rest)-8)
		}
		body := rest[8 : 8+n]
		switch {
		case typ == glbChunkJSON && jsonData == nil:
			jsonData = body
		case typ == glbChunkBIN && bin == nil && jsonData != nil:
			bin = body
		}
		rest = rest[8+n:]
	}
	if jsonData == nil {
		return nil, nil, fmt.Errorf("%w: GLB: no JSON chunk", ErrInvalid)
	}
	return jsonData, bin, nil
}

// supportedExtensions are those the renderer draws.
var supportedExtensions = map[string]bool{
	"KHR_materials_unlit":   true,
	"KHR_texture_transform": true,
}

func checkExtensions(doc *gltf.Document) error {
	for _, e := range doc.ExtensionsRequired {
		if !supportedExtensions[e] {
			return fmt.Errorf("required extension %s: %w (the node draws only KHR_materials_unlit and KHR_texture_transform)", e, ErrUnsupported)
		}
	}
	return nil
}

// loader holds the state of one Decode.
type loader struct {
	doc  *gltf.Document
	fsys fs.FS
	lim  Limits
	bin  []byte
	bufs [][]byte
	m    *Model

	notes    map[string]bool
	texCoord map[int]int // material → TEXCOORD set of its base-colour texture
	simp     simplifier  // level-of-detail buffers, reused across chunks
}

func (l *loader) note(format string, args ...any) {
	if l.notes == nil {
		l.notes = map[string]bool{}
	}
	s := fmt.Sprintf(format, args...)
	if !l.notes[s] {
		l.notes[s] = true
		l.m.Notes = append(l.m.Notes, s)
	}
}

// loadBuffers resolves every buffer to bytes: the GLB BIN chunk, a data
// URI or a file beside the model. Each must hold at least its declared
// byteLength; only that much is kept.
func (l *loader) loadBuffers() error {
	var total int64
	for i, b := range l.doc.Buffers {
		if b.ByteLength < 0 {
			return fmt.Errorf("%w: buffer %d: negative byteLength", ErrInvalid, i)
		}
		want := int64(b.ByteLength)
		total += want
		if total > l.lim.MaxFileSize {
			return fmt.Errorf("buffers: %d bytes declared: %w (at most %d)", total, ErrLimit, l.lim.MaxFileSize)
		}
		var data []byte
		var err error
		switch {
		case b.URI == "" && i == 0 && l.bin != nil:
			if int64(len(l.bin)) < want {
				err = fmt.Errorf("%w: GLB BIN chunk has %d bytes, %d declared", ErrInvalid, len(l.bin), want)
			}
			data = l.bin
		case b.URI == "":
			err = fmt.Errorf("%w: no uri and no GLB BIN chunk", ErrInvalid)
		default:
			data, err = l.resource(b.URI, want)
		}
		if err != nil {
			return fmt.Errorf("buffer %d: %w", i, err)
		}
		l.bufs = append(l.bufs, data[:want:want])
	}
	return nil
}

// resource returns the bytes of a data: URI or of a relative file URI
// (at least want bytes when want is not negative).
func (l *loader) resource(uri string, want int64) ([]byte, error) {
	if rest, ok := strings.CutPrefix(uri, "data:"); ok {
		meta, payload, ok := strings.Cut(rest, ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return nil, fmt.Errorf("%w: data URI is not base64", ErrUnsupported)
		}
		if int64(base64.StdEncoding.DecodedLen(len(payload))) < want {
			return nil, fmt.Errorf("%w: truncated: data URI holds at most %d bytes, %d declared", ErrInvalid, base64.StdEncoding.DecodedLen(len(payload)), want)
		}
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, fmt.Errorf("%w: data URI: %w", ErrInvalid, err)
		}
		if int64(len(b)) < want {
			return nil, fmt.Errorf("%w: truncated: data URI holds %d bytes, %d declared", ErrInvalid, len(b), want)
		}
		return b, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("%w: uri %q: %w", ErrInvalid, uri, err)
	}
	if u.Scheme != "" || u.Host != "" {
		return nil, fmt.Errorf("%w: uri %q: only relative file names and data URIs are read", ErrUnsupported, uri)
	}
	name := path.Clean(strings.ReplaceAll(u.Path, "\\", "/"))
	if !fs.ValidPath(name) || name == "." {
		return nil, fmt.Errorf("%w: uri %q leaves the model's directory", ErrInvalid, uri)
	}
	if l.fsys == nil {
		return nil, fmt.Errorf("%w: uri %q: no directory to read external files from", ErrInvalid, uri)
	}
	b, err := readLimited(l.fsys, name, l.lim.MaxFileSize, want)
	if err != nil {
		return nil, fmt.Errorf("uri %q: %w", uri, err)
	}
	return b, nil
}

// bufferView returns the bytes of buffer view i.
func (l *loader) bufferView(i int) ([]byte, int, error) {
	if i < 0 || i >= len(l.doc.BufferViews) {
		return nil, 0, fmt.Errorf("%w: buffer view %d does not exist", ErrInvalid, i)
	}
	v := l.doc.BufferViews[i]
	if v.Buffer < 0 || v.Buffer >= len(l.bufs) {
		return nil, 0, fmt.Errorf("%w: buffer view %d: buffer %d does not exist", ErrInvalid, i, v.Buffer)
	}
	b := l.bufs[v.Buffer]
	if v.ByteOffset < 0 || v.ByteLength < 0 || int64(v.ByteOffset)+int64(v.ByteLength) > int64(len(b)) {
		return nil, 0, fmt.Errorf("%w: buffer view %d: bytes %d+%d outside buffer %d of %d bytes", ErrInvalid, i, v.ByteOffset, v.ByteLength, v.Buffer, len(b))
	}
	if v.ByteStride != 0 && (v.ByteStride < 4 || v.ByteStride > 252) {
		return nil, 0, fmt.Errorf("%w: buffer view %d: byteStride %d", ErrInvalid, i, v.ByteStride)
	}
	return b[v.ByteOffset : v.ByteOffset+v.ByteLength], v.ByteStride, nil
}

// imageBytes returns the encoded bytes of image i.
func (l *loader) imageBytes(i int) ([]byte, error) {
	im := l.doc.Images[i]
	if im.BufferView != nil {
		b, _, err := l.bufferView(*im.BufferView)
		return b, err
	}
	if im.URI == "" {
		return nil, fmt.Errorf("%w: neither uri nor bufferView", ErrInvalid)
	}
	return l.resource(im.URI, -1)
}
