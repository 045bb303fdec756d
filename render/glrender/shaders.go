//go:build egl && cgo

package glrender

import (
	"fmt"
	"strings"

	"github.com/go-gl/gl/v3.3-core/gl"

	"github.com/holocast/holocast/render/scene"
)

// Shaders are kept cheap for llvmpipe: lighting is per vertex, only the
// floor grid and the sky do per-fragment work, and the sky is drawn last at
// the far plane so the depth test leaves it only the uncovered pixels.

const litVS = `#version 330 core
layout(location = 0) in vec3 aPos;
layout(location = 1) in vec3 aNormal;
layout(location = 2) in vec3 aColor;
uniform mat4 uViewProj;
uniform vec3 uEye;
uniform vec3 uLightDir;
uniform float uFogDensity;
out vec3 vColor;
out float vFog;
void main() {
	gl_Position = uViewProj * vec4(aPos, 1.0);
	vec3 n = normalize(aNormal);
	float diff = max(dot(n, uLightDir), 0.0);
	vec3 amb = mix(vec3(0.36, 0.34, 0.32), vec3(0.52, 0.56, 0.64), n.y * 0.5 + 0.5);
	vColor = aColor * (amb + vec3(1.0, 0.96, 0.88) * 0.65 * diff);
	vFog = exp(-distance(aPos, uEye) * uFogDensity);
}
`

const litFS = `#version 330 core
in vec3 vColor;
in float vFog;
uniform vec3 uFogColor;
out vec4 fragColor;
void main() {
	fragColor = vec4(mix(uFogColor, vColor, vFog), 1.0);
}
`

const gridVS = `#version 330 core
layout(location = 0) in vec3 aPos;
uniform mat4 uViewProj;
out vec3 vWorld;
void main() {
	gl_Position = uViewProj * vec4(aPos, 1.0);
	vWorld = aPos;
}
`

const gridFS = `#version 330 core
in vec3 vWorld;
uniform vec3 uEye;
uniform vec3 uFogColor;
uniform float uFogDensity;
uniform float uFloorLight;
out vec4 fragColor;
void main() {
	vec2 p = vWorld.xz;
	vec2 w = max(fwidth(p), vec2(1e-4));
	// Distance in pixels to the nearest 1 m and 5 m lines.
	vec2 g1 = abs(fract(p - 0.5) - 0.5) / w;
	vec2 g5 = abs(fract(p * 0.2 - 0.5) - 0.5) / (w * 0.2);
	float pw = max(w.x, w.y);
	float minor = (1.0 - min(min(g1.x, g1.y), 1.0)) * (1.0 - smoothstep(0.04, 0.25, pw));
	float major = (1.0 - min(min(g5.x, g5.y) * 0.5, 1.0)) * (1.0 - smoothstep(0.2, 1.2, pw));
	vec3 col = vec3(0.17, 0.19, 0.22);
	col = mix(col, vec3(0.36, 0.40, 0.45), minor * 0.8);
	col = mix(col, vec3(0.62, 0.66, 0.72), major);
	col *= uFloorLight;
	float fog = exp(-distance(vWorld, uEye) * uFogDensity);
	fragColor = vec4(mix(uFogColor, col, fog), 1.0);
}
`

const skyVS = `#version 330 core
uniform mat4 uInvViewProjRot;
out vec4 vDir;
void main() {
	// One triangle covering the viewport, at the far plane.
	vec2 p = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
	gl_Position = vec4(p, 1.0, 1.0);
	vDir = uInvViewProjRot * vec4(p, 1.0, 1.0);
}
`

const skyFS = `#version 330 core
in vec4 vDir;
uniform vec3 uFogColor;
uniform vec3 uLightDir;
out vec4 fragColor;
void main() {
	vec3 d = normalize(vDir.xyz / vDir.w);
	float t = clamp(d.y, 0.0, 1.0);
	vec3 col = mix(uFogColor, vec3(0.22, 0.42, 0.78), pow(t, 0.6));
	float s = max(dot(d, uLightDir), 0.0);
	// s^800 and s^24 by squaring: llvmpipe's pow is exp2(y·log2(x)),
	// two polynomial approximations per call and per pixel.
	float s8 = s * s;
	s8 *= s8;
	s8 *= s8;
	float s16 = s8 * s8;
	float s32 = s16 * s16;
	float s256 = s32 * s32;
	s256 *= s256;
	s256 *= s256;
	col += vec3(1.0, 0.9, 0.7) * (s256 * s256 * s256 * s32 * 2.0 + s16 * s8 * 0.2);
	fragColor = vec4(min(col, vec3(1.0)), 1.0);
}
`

// modelLight is the model program's lighting, shared by the vertex shader
// (micropolygons lit per vertex) and the fragment shader: one directional
// light's Lambert term and normalised Blinn-Phong highlight for uRough
// at unit normal n seen from world position p, and the hemisphere ambient.
// It needs the uniforms uEye, uLightDir and uRough declared before it.
const modelLight = `const vec3 sunColor = vec3(1.0, 0.95, 0.85) * 2.2;
void light(vec3 n, vec3 p, out float ndl, out float spec, out vec3 amb) {
	vec3 v = normalize(uEye - p);
	vec3 h = normalize(uLightDir + v);
	ndl = max(dot(n, uLightDir), 0.0);
	amb = mix(vec3(0.10, 0.09, 0.08), vec3(0.28, 0.32, 0.40), n.y * 0.5 + 0.5);
	float r = max(uRough, 0.05);
	float shin = clamp(2.0 / (r * r * r * r) - 2.0, 1.0, 2048.0);
	spec = pow(max(dot(n, h), 0.0), shin) * (shin + 8.0) / 25.13;
}
`

// The model program shades a user's glTF model per fragment: base colour
// (factor × vertex colour × sRGB texture through KHR_texture_transform),
// alpha mask by discard, and metallic-roughness approximated by one
// directional light (Lambert diffuse weighted by 1−metallic plus a
// normalised Blinn-Phong highlight whose exponent follows roughness, with
// Schlick's F0 of 0.04 for dielectrics and the base colour for metals)
// and a hemisphere ambient from sky and ground colours. Lighting is in
// linear space; the result is encoded to sRGB for the 8-bit framebuffer.
// Back faces of double-sided materials flip their normal.
//
// The VLIT variants light at the vertices instead, for chunks drawn at a
// level whose vertices lie at most vertexLightPixels apart on screen
// (micropolygons: shading their vertices is shading every pixel or two,
// as Reyes does). The lighting is linear in the base colour c:
// col = c·A + B with A = (1−metal)(amb + sun·ndl) + metal·S and
// B = 0.04(1−metal)·S + emissive, S = spec·sun·ndl + amb/2, so A and B
// are computed per vertex and a texture is still sampled and multiplied
// in per fragment, in linear space. Without a texture the vertex shader
// also encodes to sRGB and applies the fog, and the fragment shader only
// writes the interpolated colour. Fog is per vertex in both VLIT
// variants, as in the built-in scene.
const modelVS = `#version 330 core
layout(location = 0) in vec3 aPos;
layout(location = 1) in vec3 aNormal;
layout(location = 2) in vec2 aUV;
layout(location = 3) in vec4 aColor;
uniform mat4 uViewProj;
uniform mat4 uModel;
uniform mat3 uNormalMat;
out vec3 vWorld;
#if !defined(UNLIT) && !defined(VLIT)
out vec3 vNormal;
#endif
#ifdef TEX
uniform mat3 uUVT;
out vec2 vUV;
#endif
out vec4 vColor;
#ifdef VLIT
uniform vec4 uBase;
uniform vec3 uEmissive;
uniform float uMetal;
uniform float uRough;
uniform vec3 uEye;
uniform vec3 uLightDir;
uniform vec3 uFogColor;
uniform float uFogDensity;
#ifdef TEX
out vec3 vA;
out vec3 vB;
out float vFog;
#else
out vec4 vLit;
#endif
#endif
` + "#ifdef VLIT\n" + modelLight + "#endif\n" + `void main() {
	vec4 w = uModel * vec4(aPos, 1.0);
	gl_Position = uViewProj * w;
	vWorld = w.xyz;
#if !defined(UNLIT) && !defined(VLIT)
	vNormal = uNormalMat * aNormal;
#endif
#ifdef TEX
	vUV = (uUVT * vec3(aUV, 1.0)).xy;
#endif
	vColor = aColor;
#ifdef VLIT
	vec3 n = normalize(uNormalMat * aNormal);
	float ndl, spec;
	vec3 amb;
	light(n, w.xyz, ndl, spec, amb);
	vec3 s = spec * sunColor * ndl + amb * 0.5;
	vec3 a = (1.0 - uMetal) * (amb + sunColor * ndl) + uMetal * s;
	vec3 b = 0.04 * (1.0 - uMetal) * s + uEmissive;
	float fog = exp(-distance(w.xyz, uEye) * uFogDensity);
#ifdef TEX
	vA = a;
	vB = b;
	vFog = fog;
#else
	vec4 c = uBase * aColor;
	vec3 col = pow(clamp(c.rgb * a + b, 0.0, 1.0), vec3(1.0 / 2.2));
	vLit = vec4(mix(uFogColor, col, fog), c.a);
#endif
#endif
}
`

// modelFS is compiled in variants (see modelVariant): llvmpipe runs both
// sides of a branch on a uniform for every pixel, so a texture fetch, a
// discard or the lighting that a material does not use would still cost
// their time per fragment. Each variant computes exactly what the
// all-in-one shader computed for its materials.
const modelFS = `#version 330 core
in vec3 vWorld;
#if !defined(UNLIT) && !defined(VLIT)
in vec3 vNormal;
#endif
#ifdef TEX
in vec2 vUV;
uniform sampler2D uTex;
#endif
in vec4 vColor;
#ifdef VLIT
#ifdef TEX
in vec3 vA;
in vec3 vB;
in float vFog;
#else
in vec4 vLit;
#endif
#endif
uniform vec4 uBase;
uniform vec3 uEmissive;
uniform float uMetal;
uniform float uRough;
uniform float uCutoff;
uniform vec3 uEye;
uniform vec3 uLightDir;
uniform vec3 uFogColor;
uniform float uFogDensity;
out vec4 fragColor;
` + modelLight + `void main() {
#if defined(VLIT) && !defined(TEX)
	vec4 c = vLit; // lit, fogged and encoded per vertex
#else
	vec4 c = uBase * vColor;
#ifdef TEX
	c *= texture(uTex, vUV);
#endif
#endif
#ifdef MASK
	if (c.a < uCutoff) discard;
#endif
#ifndef BLEND
	c.a = 1.0;
#endif
#if defined(VLIT) && !defined(TEX)
	fragColor = c;
#else
	vec3 col = c.rgb;
#ifdef VLIT
	col = col * vA + vB;
	float fog = vFog;
#else
#ifndef UNLIT
	vec3 n = normalize(vNormal);
#ifdef DOUBLE
	if (!gl_FrontFacing) n = -n;
#endif
	float ndl, spec;
	vec3 amb;
	light(n, vWorld, ndl, spec, amb);
	vec3 f0 = mix(vec3(0.04), c.rgb, uMetal);
	vec3 diff = c.rgb * (1.0 - uMetal);
	col = diff * (amb + sunColor * ndl) + f0 * (spec * sunColor * ndl + amb * 0.5);
#endif
	col += uEmissive;
	float fog = exp(-distance(vWorld, uEye) * uFogDensity);
#endif
	col = pow(clamp(col, 0.0, 1.0), vec3(1.0 / 2.2));
	fragColor = vec4(mix(uFogColor, col, fog), c.a);
#endif
}
`

// modelVariant selects a compiled variant of the model program.
type modelVariant uint8

const (
	variantTex modelVariant = 1 << iota
	variantMask
	variantBlend
	variantUnlit
	variantDouble
	// variantVertexLit lights at the vertices (VLIT); only for lit,
	// single-sided materials (see vertexLit).
	variantVertexLit
	numModelVariants = 1 << iota
)

// variantOf returns the shader variant that draws m.
func variantOf(m *scene.Material) modelVariant {
	var v modelVariant
	if m.Texture >= 0 {
		v |= variantTex
	}
	switch m.Alpha {
	case scene.AlphaMask:
		v |= variantMask
	case scene.AlphaBlend:
		v |= variantBlend
	}
	if m.Unlit {
		v |= variantUnlit
	}
	if m.DoubleSided {
		v |= variantDouble
	}
	return v
}

// defines returns the preprocessor lines of the variant.
func (v modelVariant) defines() string {
	var b strings.Builder
	for _, d := range []struct {
		bit  modelVariant
		name string
	}{{variantTex, "TEX"}, {variantMask, "MASK"}, {variantBlend, "BLEND"}, {variantUnlit, "UNLIT"}, {variantDouble, "DOUBLE"}, {variantVertexLit, "VLIT"}} {
		if v&d.bit != 0 {
			b.WriteString("#define " + d.name + "\n")
		}
	}
	return b.String()
}

// modelProgram returns the worker's program for variant v, compiling it
// on first use; worker goroutine only.
func (ps *programs) modelProgram(v modelVariant) (*program, error) {
	if p := ps.model[v]; p != nil {
		return p, nil
	}
	withDefs := func(src string) string {
		i := strings.Index(src, "\n") + 1
		return src[:i] + v.defines() + src[i:]
	}
	p, err := link(fmt.Sprintf("model variant %d", v), withDefs(modelVS), withDefs(modelFS), "uViewProj", "uModel", "uNormalMat", "uTex", "uUVT",
		"uBase", "uEmissive", "uMetal", "uRough", "uCutoff", "uEye", "uLightDir", "uFogColor", "uFogDensity")
	if err != nil {
		return nil, err
	}
	ps.model[v] = p
	return p, nil
}

// program is a linked shader program with its uniform locations.
type program struct {
	id       uint32
	uniforms map[string]int32
}

func (p *program) loc(name string) int32 { return p.uniforms[name] }

// programs are the worker's shared shader programs.
type programs struct {
	lit, grid, sky *program
	model          [numModelVariants]*program // compiled on first use
}

func newPrograms() (*programs, error) {
	var ps programs
	var err error
	if ps.lit, err = link("lit", litVS, litFS, "uViewProj", "uEye", "uLightDir", "uFogDensity", "uFogColor"); err != nil {
		return nil, err
	}
	if ps.grid, err = link("grid", gridVS, gridFS, "uViewProj", "uEye", "uFogColor", "uFogDensity", "uFloorLight"); err != nil {
		ps.delete()
		return nil, err
	}
	if ps.sky, err = link("sky", skyVS, skyFS, "uInvViewProjRot", "uFogColor", "uLightDir"); err != nil {
		ps.delete()
		return nil, err
	}
	// The plain lit model variant is compiled now so that a broken
	// driver shows at start-up.
	if _, err = ps.modelProgram(0); err != nil {
		ps.delete()
		return nil, err
	}
	return &ps, nil
}

func (ps *programs) delete() {
	for _, p := range append([]*program{ps.lit, ps.grid, ps.sky}, ps.model[:]...) {
		if p != nil {
			gl.DeleteProgram(p.id)
		}
	}
}

func compile(kind uint32, src string) (uint32, error) {
	s := gl.CreateShader(kind)
	csrc, free := gl.Strs(src + "\x00")
	gl.ShaderSource(s, 1, csrc, nil)
	free()
	gl.CompileShader(s)
	var ok int32
	gl.GetShaderiv(s, gl.COMPILE_STATUS, &ok)
	if ok == gl.FALSE {
		var n int32
		gl.GetShaderiv(s, gl.INFO_LOG_LENGTH, &n)
		log := strings.Repeat("\x00", int(n)+1)
		gl.GetShaderInfoLog(s, n, nil, gl.Str(log))
		gl.DeleteShader(s)
		return 0, fmt.Errorf("compile: %s", strings.TrimRight(log, "\x00\n"))
	}
	return s, nil
}

func link(name, vs, fs string, uniforms ...string) (*program, error) {
	v, err := compile(gl.VERTEX_SHADER, vs)
	if err != nil {
		return nil, fmt.Errorf("%s vertex shader: %w", name, err)
	}
	f, err := compile(gl.FRAGMENT_SHADER, fs)
	if err != nil {
		gl.DeleteShader(v)
		return nil, fmt.Errorf("%s fragment shader: %w", name, err)
	}
	id := gl.CreateProgram()
	gl.AttachShader(id, v)
	gl.AttachShader(id, f)
	gl.LinkProgram(id)
	gl.DeleteShader(v)
	gl.DeleteShader(f)
	var ok int32
	gl.GetProgramiv(id, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		var n int32
		gl.GetProgramiv(id, gl.INFO_LOG_LENGTH, &n)
		log := strings.Repeat("\x00", int(n)+1)
		gl.GetProgramInfoLog(id, n, nil, gl.Str(log))
		gl.DeleteProgram(id)
		return nil, fmt.Errorf("%s program link: %s", name, strings.TrimRight(log, "\x00\n"))
	}
	p := &program{id: id, uniforms: map[string]int32{}}
	for _, u := range uniforms {
		p.uniforms[u] = gl.GetUniformLocation(id, gl.Str(u+"\x00"))
	}
	return p, nil
}
