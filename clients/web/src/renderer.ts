// WebGL compositor: draws each half of the side-by-side video frame to its
// eye's viewport, rotated by the reprojection matrix (time-warp), with
// optional Cardboard lens distortion.

import type { Tangents } from "./math";

export interface EyeDraw {
  /** Viewport in framebuffer pixels: x, y (from the bottom), width, height. */
  viewport: [number, number, number, number];
  /** Which half of the video: 0 left eye, 1 right eye. */
  eye: 0 | 1;
  /** Frustum tangents of the view this viewport shows (before distortion). */
  display: Tangents;
  /** Frustum tangents the node rendered this eye with. */
  source: Tangents;
  /** Radial lens distortion coefficients (Cardboard), or [0, 0]. */
  k?: [number, number];
}

const VS = `
attribute vec2 aPos;
varying vec2 vUV;
void main() { vUV = aPos * 0.5 + 0.5; gl_Position = vec4(aPos, 0.0, 1.0); }
`;

// Display pixel -> view ray (display tangents, lens distortion) -> rotated
// into the rendered view by uRot -> projected with the rendered eye's
// tangents -> texel of that eye's half of the video.
const FS = `
precision highp float;
varying vec2 vUV;
uniform sampler2D uTex;
uniform mat3 uRot;
uniform vec4 uDisp;   // left, right, up, down tangents of the viewport
uniform vec4 uSrc;    // same for the rendered eye
uniform vec2 uK;      // radial distortion k1, k2
uniform float uEye;   // 0 left half, 1 right half
uniform float uHasFrame;
uniform float uKey;   // 1: black is transparent (AR on pass-through displays)
void main() {
  vec2 t = vec2(mix(-uDisp.x, uDisp.y, vUV.x), mix(-uDisp.w, uDisp.z, vUV.y));
  float r2 = dot(t, t);
  t *= 1.0 + uK.x * r2 + uK.y * r2 * r2;
  vec3 s = uRot * vec3(t, -1.0);
  vec4 none = vec4(0.0, 0.0, 0.0, 1.0 - uKey);
  if (s.z > -1e-4 || uHasFrame < 0.5) { gl_FragColor = none; return; }
  vec2 p = s.xy / -s.z;
  vec2 uv = vec2((p.x + uSrc.x) / (uSrc.x + uSrc.y), (p.y + uSrc.w) / (uSrc.z + uSrc.w));
  if (uv.x < 0.0 || uv.x > 1.0 || uv.y < 0.0 || uv.y > 1.0) { gl_FragColor = none; return; }
  // Keep half a texel away from the seam between the eyes.
  uv.x = clamp(uv.x, 0.001, 0.999);
  vec4 c = texture2D(uTex, vec2((uEye + uv.x) * 0.5, 1.0 - uv.y));
  if (uKey > 0.5) {
    float a = smoothstep(0.03, 0.10, dot(c.rgb, vec3(0.299, 0.587, 0.114)));
    c = vec4(c.rgb * a, a);
  }
  gl_FragColor = c;
}
`;

export const IDENTITY3 = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);

export class VideoRenderer {
  private prog: WebGLProgram;
  private tex: WebGLTexture;
  private buf: WebGLBuffer;
  private loc: Record<string, WebGLUniformLocation | null> = {};
  private aPos: number;
  hasFrame = false;
  videoWidth = 0;
  videoHeight = 0;

  constructor(public gl: WebGLRenderingContext | WebGL2RenderingContext) {
    const vs = compile(gl, gl.VERTEX_SHADER, VS);
    const fs = compile(gl, gl.FRAGMENT_SHADER, FS);
    const prog = gl.createProgram()!;
    gl.attachShader(prog, vs); gl.attachShader(prog, fs); gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error("WebGL link: " + gl.getProgramInfoLog(prog));
    this.prog = prog;
    for (const u of ["uTex", "uRot", "uDisp", "uSrc", "uK", "uEye", "uHasFrame", "uKey"]) this.loc[u] = gl.getUniformLocation(prog, u);
    this.aPos = gl.getAttribLocation(prog, "aPos");
    this.buf = gl.createBuffer()!;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    this.tex = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array([0, 0, 0, 255]));
  }

  /** Copies the video's current frame into the texture. */
  upload(video: HTMLVideoElement): boolean {
    if (video.readyState < 2 || video.videoWidth === 0) return false;
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, video);
    this.hasFrame = true;
    this.videoWidth = video.videoWidth;
    this.videoHeight = video.videoHeight;
    return true;
  }

  /** Draws the eyes into the bound framebuffer with rotation rot (mat3).
   * keyBlack makes dark pixels transparent (premultiplied alpha). */
  draw(eyes: EyeDraw[], rot: Float32Array, clear: [number, number, number, number] = [0, 0, 0, 1], keyBlack = false): void {
    const gl = this.gl;
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.BLEND);
    gl.clearColor(...clear);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(this.prog);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buf);
    gl.enableVertexAttribArray(this.aPos);
    gl.vertexAttribPointer(this.aPos, 2, gl.FLOAT, false, 0, 0);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.uniform1i(this.loc.uTex, 0);
    gl.uniformMatrix3fv(this.loc.uRot, false, rot);
    gl.uniform1f(this.loc.uHasFrame, this.hasFrame ? 1 : 0);
    gl.uniform1f(this.loc.uKey, keyBlack ? 1 : 0);
    for (const e of eyes) {
      gl.viewport(...e.viewport);
      gl.uniform4f(this.loc.uDisp, e.display.left, e.display.right, e.display.up, e.display.down);
      gl.uniform4f(this.loc.uSrc, e.source.left, e.source.right, e.source.up, e.source.down);
      gl.uniform2f(this.loc.uK, e.k?.[0] ?? 0, e.k?.[1] ?? 0);
      gl.uniform1f(this.loc.uEye, e.eye);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    }
  }

  /** Reads the framebuffer as luminance, every `step` pixels (tests, debugging). */
  snapshot(step = 2): { width: number; height: number; data: number[] } {
    const gl = this.gl;
    const w = gl.drawingBufferWidth, h = gl.drawingBufferHeight;
    const px = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    const ow = Math.floor(w / step), oh = Math.floor(h / step);
    const data = new Array<number>(ow * oh);
    for (let y = 0; y < oh; y++) {
      // Top row first.
      const sy = h - 1 - y * step;
      for (let x = 0; x < ow; x++) {
        const i = (sy * w + x * step) * 4;
        data[y * ow + x] = Math.round(0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2]);
      }
    }
    return { width: ow, height: oh, data };
  }
}

function compile(gl: WebGLRenderingContext, type: number, src: string): WebGLShader {
  const s = gl.createShader(type)!;
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error("WebGL shader: " + gl.getShaderInfoLog(s));
  return s;
}
