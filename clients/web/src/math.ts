// Quaternion and projection maths for poses and rotational reprojection.
// Frame of reference is WebXR's: right-handed, +Y up, -Z forward.

export interface Quat { x: number; y: number; z: number; w: number }
export interface Vec3 { x: number; y: number; z: number }

/** Tangents of the four half-angles of a view frustum (all positive for a
 * frustum that contains the forward axis). */
export interface Tangents { left: number; right: number; up: number; down: number }

export const IDENTITY: Quat = Object.freeze({ x: 0, y: 0, z: 0, w: 1 });

export function quat(x: number, y: number, z: number, w: number): Quat {
  return { x, y, z, w };
}

export function mul(a: Quat, b: Quat): Quat {
  return {
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
  };
}

export function conj(q: Quat): Quat {
  return { x: -q.x, y: -q.y, z: -q.z, w: q.w };
}

export function normalize(q: Quat): Quat {
  const n = Math.hypot(q.x, q.y, q.z, q.w);
  if (!(n > 1e-12) || !Number.isFinite(n)) return { ...IDENTITY };
  return { x: q.x / n, y: q.y / n, z: q.z / n, w: q.w / n };
}

export function fromAxisAngle(axis: Vec3, angle: number): Quat {
  const n = Math.hypot(axis.x, axis.y, axis.z) || 1;
  const s = Math.sin(angle / 2) / n;
  return { x: axis.x * s, y: axis.y * s, z: axis.z * s, w: Math.cos(angle / 2) };
}

/** Orientation of a viewer that turned by yaw about +Y (positive = left),
 * then pitched by pitch about its own +X (positive = up). */
export function fromYawPitch(yaw: number, pitch: number): Quat {
  return mul(fromAxisAngle({ x: 0, y: 1, z: 0 }, yaw), fromAxisAngle({ x: 1, y: 0, z: 0 }, pitch));
}

/** Sign-invariant angle between two orientations, radians. */
export function angleBetween(a: Quat, b: Quat): number {
  const d = Math.abs(a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w);
  return 2 * Math.acos(Math.min(1, d));
}

export function rotate(q: Quat, v: Vec3): Vec3 {
  // v' = q v q*
  const p = mul(mul(q, { x: v.x, y: v.y, z: v.z, w: 0 }), conj(q));
  return { x: p.x, y: p.y, z: p.z };
}

/** 3×3 rotation matrix of unit quaternion q, column-major (GLSL mat3). */
export function toMat3(q: Quat): Float32Array {
  const { x, y, z, w } = q;
  const m = new Float32Array(9);
  m[0] = 1 - 2 * (y * y + z * z); m[1] = 2 * (x * y + z * w); m[2] = 2 * (x * z - y * w);
  m[3] = 2 * (x * y - z * w); m[4] = 1 - 2 * (x * x + z * z); m[5] = 2 * (y * z + x * w);
  m[6] = 2 * (x * z + y * w); m[7] = 2 * (y * z - x * w); m[8] = 1 - 2 * (x * x + y * y);
  return m;
}

/**
 * Reprojection rotation: maps a direction in the display view (head at
 * orientation display) to the rendered view (head at orientation rendered).
 * world = display·d, rendered-view = rendered⁻¹·world.
 */
export function reprojectionQuat(rendered: Quat, display: Quat): Quat {
  return normalize(mul(conj(normalize(rendered)), normalize(display)));
}

export function reprojectionMatrix(rendered: Quat, display: Quat): Float32Array {
  return toMat3(reprojectionQuat(rendered, display));
}

export function tangentsFromFov(fov: { left: number; right: number; up: number; down: number }): Tangents {
  return { left: Math.tan(fov.left), right: Math.tan(fov.right), up: Math.tan(fov.up), down: Math.tan(fov.down) };
}

export function fovFromTangents(t: Tangents): { left: number; right: number; up: number; down: number } {
  return { left: Math.atan(t.left), right: Math.atan(t.right), up: Math.atan(t.up), down: Math.atan(t.down) };
}

/** Symmetric tangents for a vertical half-angle and an aspect (width/height). */
export function symmetricTangents(halfVertical: number, aspect: number): Tangents {
  const v = Math.tan(halfVertical);
  const h = v * aspect;
  return { left: h, right: h, up: v, down: v };
}

/** Frustum tangents of a column-major OpenGL/WebXR projection matrix. */
export function tangentsFromProjection(m: ArrayLike<number>): Tangents {
  const p0 = m[0], p5 = m[5], p8 = m[8], p9 = m[9];
  return { left: (1 - p8) / p0, right: (1 + p8) / p0, up: (1 + p9) / p5, down: (1 - p9) / p5 };
}

/** Column-major projection matrix for frustum tangents. */
export function projectionFromTangents(t: Tangents, near: number, far: number): Float32Array {
  const m = new Float32Array(16);
  const w = t.left + t.right, h = t.up + t.down;
  m[0] = 2 / w; m[5] = 2 / h;
  m[8] = (t.right - t.left) / w; m[9] = (t.up - t.down) / h;
  m[10] = -(far + near) / (far - near); m[11] = -1;
  m[14] = -2 * far * near / (far - near);
  return m;
}

/** Apply a column-major 3×3 matrix to v. */
export function mat3Apply(m: ArrayLike<number>, v: Vec3): Vec3 {
  return {
    x: m[0] * v.x + m[3] * v.y + m[6] * v.z,
    y: m[1] * v.x + m[4] * v.y + m[7] * v.z,
    z: m[2] * v.x + m[5] * v.y + m[8] * v.z,
  };
}

/**
 * Where a display pixel samples the rendered eye image: the CPU twin of the
 * reprojection shader. uv is the position in the display viewport, (0,0)
 * bottom-left, (1,1) top-right; the result is in the same convention over the
 * rendered eye image, or null when the ray leaves its frustum (behind).
 */
export function reprojectUV(uv: { u: number; v: number }, rot: ArrayLike<number>, display: Tangents, source: Tangents): { u: number; v: number } | null {
  const d = {
    x: -display.left + uv.u * (display.left + display.right),
    y: -display.down + uv.v * (display.up + display.down),
    z: -1,
  };
  const s = mat3Apply(rot, d);
  if (s.z > -1e-6) return null;
  const px = s.x / -s.z, py = s.y / -s.z;
  return { u: (px + source.left) / (source.left + source.right), v: (py + source.down) / (source.up + source.down) };
}

/**
 * Orientation from DeviceOrientation angles (degrees; W3C Z-X'-Y'' intrinsic
 * Tait-Bryan angles of the device in the Earth frame) and the screen
 * orientation angle (degrees), as a WebXR viewer orientation: the camera looks
 * out of the screen towards the user's view direction (−Z of the screen).
 * The Earth frame is mapped to WebXR's with +Y up and the device's initial
 * heading left arbitrary (see Cardboard recentring).
 */
export function fromDeviceOrientation(alphaDeg: number, betaDeg: number, gammaDeg: number, screenDeg: number): Quat {
  const d = Math.PI / 180;
  const a = alphaDeg * d, b = betaDeg * d, g = gammaDeg * d, o = screenDeg * d;
  // Y-X-Z order in the Y-up frame: yaw (alpha) about Y, pitch (beta) about X, roll (-gamma) about Z.
  const qYaw = fromAxisAngle({ x: 0, y: 1, z: 0 }, a);
  const qPitch = fromAxisAngle({ x: 1, y: 0, z: 0 }, b);
  const qRoll = fromAxisAngle({ x: 0, y: 0, z: 1 }, -g);
  let q = mul(mul(qYaw, qPitch), qRoll);
  // The camera looks out of the back of the device: −90° about X.
  q = mul(q, { x: -Math.SQRT1_2, y: 0, z: 0, w: Math.SQRT1_2 });
  // Screen rotation (landscape) turns the view about its forward axis.
  q = mul(q, fromAxisAngle({ x: 0, y: 0, z: 1 }, -o));
  return normalize(q);
}

/** Yaw (rotation about world +Y) of an orientation's forward vector, radians. */
export function yawOf(q: Quat): number {
  const f = rotate(q, { x: 0, y: 0, z: -1 });
  return Math.atan2(-f.x, -f.z);
}
