// Grabbing the model with WebXR input: pure functions from the poses of
// the grabbing controllers or hands to the model transform the node is
// sent (ModelTransform), testable without a headset.
//
// One hand (a squeezed controller, or a pinching hand) carries the model:
// the model moves by the hand's translation and turns by the hand's
// rotation (about the model's centre, as the node applies it). Two hands
// scale it by the change of the distance between them, turn it about the
// vertical by the change of the direction between them and move it with
// their midpoint. When a hand joins or leaves, the grab starts again from
// the current transform, so the model never jumps.

import { conj, fromAxisAngle, IDENTITY, mul, normalize, type Quat, type Vec3 } from "./math";

/** The model transform relative to where the node placed the model. */
export interface ModelXf { position: Vec3; orientation: Quat; scale: number }

/** A grabbing controller's grip (or a hand's) pose in the reference space. */
export interface HandPose { position: Vec3; orientation: Quat }

/** What the node accepts: scale in [0.01, 100], position within 1 km. */
export const MIN_SCALE = 0.01, MAX_SCALE = 100, MAX_OFFSET = 1000;

/** A grab in progress: the transform and the hands' poses when it began. */
export interface Grab { start: ModelXf; hands: HandPose[] }

export const IDENTITY_XF: ModelXf = Object.freeze({ position: Object.freeze({ x: 0, y: 0, z: 0 }), orientation: IDENTITY, scale: 1 }) as ModelXf;

/** Begins a grab with one or two hands (more are ignored: the first two count). */
export function beginGrab(xf: ModelXf, hands: HandPose[]): Grab {
  return { start: copyXf(xf), hands: hands.slice(0, 2).map((h) => ({ position: { ...h.position }, orientation: { ...h.orientation } })) };
}

/**
 * The model transform while g goes on with the hands now at now (the same
 * hands, in the same order, as when it began). Non-finite poses leave the
 * transform where the grab started.
 */
export function grabTransform(g: Grab, now: HandPose[]): ModelXf {
  const s = g.start;
  if (now.length < g.hands.length || !now.slice(0, g.hands.length).every(finitePose)) return copyXf(s);
  if (g.hands.length === 1) {
    const h0 = g.hands[0], h1 = now[0];
    const turn = mul(h1.orientation, conj(h0.orientation));
    return clampXf({
      position: add(s.position, sub(h1.position, h0.position)),
      orientation: normalize(mul(turn, s.orientation)),
      scale: s.scale,
    });
  }
  if (g.hands.length < 2) return copyXf(s);
  const [a0, b0] = g.hands, [a1, b1] = now;
  const d0 = sub(b0.position, a0.position), d1 = sub(b1.position, a1.position);
  const len0 = Math.hypot(d0.x, d0.y, d0.z), len1 = Math.hypot(d1.x, d1.y, d1.z);
  const scale = len0 > 1e-3 ? s.scale * (len1 / len0) : s.scale;
  // Turn about +Y by the change of the hands' direction seen from above.
  let turn = IDENTITY;
  if (Math.hypot(d0.x, d0.z) > 1e-3 && Math.hypot(d1.x, d1.z) > 1e-3) {
    turn = fromAxisAngle({ x: 0, y: 1, z: 0 }, Math.atan2(-d1.z, d1.x) - Math.atan2(-d0.z, d0.x));
  }
  const mid0 = mid(a0.position, b0.position), mid1 = mid(a1.position, b1.position);
  return clampXf({ position: add(s.position, sub(mid1, mid0)), orientation: normalize(mul(turn, s.orientation)), scale });
}

/** Whether two transforms differ by more than a millimetre, a tenth of a degree or 0.1 % of scale. */
export function xfChanged(a: ModelXf, b: ModelXf): boolean {
  const d = sub(a.position, b.position);
  const dot = Math.abs(a.orientation.x * b.orientation.x + a.orientation.y * b.orientation.y + a.orientation.z * b.orientation.z + a.orientation.w * b.orientation.w);
  return Math.hypot(d.x, d.y, d.z) > 1e-3 || 2 * Math.acos(Math.min(1, dot)) > 0.1 * Math.PI / 180 || Math.abs(a.scale / b.scale - 1) > 1e-3;
}

/** Keeps a transform within what the node accepts. */
export function clampXf(x: ModelXf): ModelXf {
  const c = (v: number) => Math.max(-MAX_OFFSET, Math.min(MAX_OFFSET, v));
  return {
    position: { x: c(x.position.x), y: c(x.position.y), z: c(x.position.z) },
    orientation: normalize(x.orientation),
    scale: Math.max(MIN_SCALE, Math.min(MAX_SCALE, Number.isFinite(x.scale) ? x.scale : 1)),
  };
}

function copyXf(x: ModelXf): ModelXf {
  return { position: { ...x.position }, orientation: { ...x.orientation }, scale: x.scale };
}
function finitePose(h: HandPose): boolean {
  const p = h.position, q = h.orientation;
  return [p.x, p.y, p.z, q.x, q.y, q.z, q.w].every(Number.isFinite);
}
function add(a: Vec3, b: Vec3): Vec3 { return { x: a.x + b.x, y: a.y + b.y, z: a.z + b.z }; }
function sub(a: Vec3, b: Vec3): Vec3 { return { x: a.x - b.x, y: a.y - b.y, z: a.z - b.z }; }
function mid(a: Vec3, b: Vec3): Vec3 { return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, z: (a.z + b.z) / 2 }; }
