import { test } from "node:test";
import assert from "node:assert/strict";
import { angleBetween, fromAxisAngle, IDENTITY, rotate, yawOf } from "../../src/math";
import { beginGrab, clampXf, grabTransform, IDENTITY_XF, MAX_SCALE, xfChanged, type HandPose } from "../../src/xrinput";

const deg = Math.PI / 180;
const close = (a: number, b: number, eps = 1e-6, msg?: string) => assert.ok(Math.abs(a - b) <= eps, `${msg ?? ""} ${a} != ${b}`);
const up = { x: 0, y: 1, z: 0 };
const hand = (x: number, y: number, z: number, q = IDENTITY): HandPose => ({ position: { x, y, z }, orientation: q });

test("one hand carries the model: its translation moves it, its rotation turns it", () => {
  const g = beginGrab(IDENTITY_XF, [hand(0.2, 1.2, -0.5)]);
  const moved = grabTransform(g, [hand(0.5, 1.0, -0.5)]);
  close(moved.position.x, 0.3); close(moved.position.y, -0.2); close(moved.position.z, 0);
  close(moved.scale, 1);
  close(angleBetween(moved.orientation, IDENTITY), 0);
  const turned = grabTransform(g, [hand(0.2, 1.2, -0.5, fromAxisAngle(up, 30 * deg))]);
  close(yawOf(turned.orientation), 30 * deg, 1e-6, "yaw");
  close(turned.position.x, 0); close(turned.position.z, 0);
});

test("a hand's rotation adds to the model's orientation at grab start", () => {
  const start = { position: { x: 1, y: 0, z: 0 }, orientation: fromAxisAngle(up, 90 * deg), scale: 2 };
  const g = beginGrab(start, [hand(0, 1, 0, fromAxisAngle(up, 10 * deg))]);
  const r = grabTransform(g, [hand(0, 1, 0, fromAxisAngle(up, 40 * deg))]);
  close(yawOf(r.orientation), 120 * deg);
  close(r.scale, 2);
  close(r.position.x, 1);
  // The same poses as at the start give the start transform back.
  assert.equal(xfChanged(grabTransform(g, g.hands), start), false);
});

test("two hands scale by their distance, turn by their direction and move with their midpoint", () => {
  const g = beginGrab(IDENTITY_XF, [hand(-0.2, 1, -0.5), hand(0.2, 1, -0.5)]);
  const wider = grabTransform(g, [hand(-0.4, 1, -0.5), hand(0.4, 1, -0.5)]);
  close(wider.scale, 2);
  close(wider.position.x, 0); close(wider.position.y, 0);
  // The right hand comes forward, the left goes back: the pair turns
  // left (counter-clockwise seen from above), +yaw.
  const turned = grabTransform(g, [hand(-0.2, 1, -0.3), hand(0.2, 1, -0.7)]);
  const f = rotate(turned.orientation, { x: 1, y: 0, z: 0 });
  assert.ok(f.z < -0.5, `the model's +X turned towards -Z: ${JSON.stringify(f)}`);
  close(turned.scale, Math.hypot(0.4, 0.4) / 0.4);
  const lifted = grabTransform(g, [hand(-0.2, 1.3, -0.5), hand(0.2, 1.3, -0.5)]);
  close(lifted.position.y, 0.3);
  close(lifted.scale, 1);
});

test("the transform stays within what the node accepts", () => {
  const g = beginGrab(IDENTITY_XF, [hand(0, 1, -0.5), hand(0.01, 1, -0.5)]);
  const huge = grabTransform(g, [hand(-50, 1, -0.5), hand(50, 1, -0.5)]);
  assert.equal(huge.scale, MAX_SCALE);
  const far = clampXf({ position: { x: 5000, y: -5000, z: 0 }, orientation: IDENTITY, scale: NaN });
  assert.deepEqual(far.position, { x: 1000, y: -1000, z: 0 });
  assert.equal(far.scale, 1);
  // A lost (non-finite) pose leaves the model where the grab began.
  const lost = grabTransform(g, [hand(NaN, 1, 0), hand(0, 1, 0)]);
  assert.equal(xfChanged(lost, IDENTITY_XF), false);
  // Fewer hands than began the grab: no change.
  assert.equal(xfChanged(grabTransform(g, [hand(3, 3, 3)]), IDENTITY_XF), false);
});

test("xfChanged ignores sub-millimetre jitter", () => {
  const a = { position: { x: 0, y: 0, z: 0 }, orientation: IDENTITY, scale: 1 };
  assert.equal(xfChanged(a, { ...a, position: { x: 0.0004, y: 0, z: 0 } }), false);
  assert.equal(xfChanged(a, { ...a, position: { x: 0.01, y: 0, z: 0 } }), true);
  assert.equal(xfChanged(a, { ...a, orientation: fromAxisAngle(up, 1 * deg) }), true);
  assert.equal(xfChanged(a, { ...a, scale: 1.01 }), true);
});
