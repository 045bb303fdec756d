import { test } from "node:test";
import assert from "node:assert/strict";
import {
  angleBetween, conj, fromAxisAngle, fromDeviceOrientation, fromYawPitch, IDENTITY, mat3Apply, mul,
  projectionFromTangents, reprojectUV, reprojectionMatrix, rotate, symmetricTangents, tangentsFromProjection, yawOf,
} from "../../src/math";

const deg = Math.PI / 180;
const close = (a: number, b: number, eps = 1e-6, msg?: string) => assert.ok(Math.abs(a - b) <= eps, `${msg ?? ""} ${a} != ${b}`);

test("yaw turns the forward vector to the left, pitch up", () => {
  const f = rotate(fromYawPitch(90 * deg, 0), { x: 0, y: 0, z: -1 });
  close(f.x, -1); close(f.y, 0); close(f.z, 0);
  const u = rotate(fromYawPitch(0, 30 * deg), { x: 0, y: 0, z: -1 });
  close(u.y, Math.sin(30 * deg));
  close(yawOf(fromYawPitch(0.7, 0.3)), 0.7);
});

test("sign-invariant angle", () => {
  const q = fromYawPitch(0.4, -0.2);
  close(angleBetween(q, { x: -q.x, y: -q.y, z: -q.z, w: -q.w }), 0, 1e-6);
  close(angleBetween(IDENTITY, fromAxisAngle({ x: 0, y: 1, z: 0 }, 0.3)), 0.3, 1e-6);
});

test("reprojection is the identity when the head has not moved", () => {
  const q = fromYawPitch(1.1, -0.3);
  const m = reprojectionMatrix(q, q);
  const t = symmetricTangents(45 * deg, 16 / 9);
  for (const uv of [{ u: 0.5, v: 0.5 }, { u: 0.1, v: 0.9 }, { u: 0.77, v: 0.2 }]) {
    const r = reprojectUV(uv, m, t, t)!;
    close(r.u, uv.u, 1e-6); close(r.v, uv.v, 1e-6);
  }
});

test("reprojection of a yaw samples the rendered image where the world now is", () => {
  // Rendered looking straight ahead; the head has since turned θ to the left:
  // the screen centre must show what was tan θ left of the rendered centre,
  // so the picture moves right.
  for (const theta of [2 * deg, 10 * deg, -7 * deg]) {
    const t = symmetricTangents(45 * deg, 1);
    const m = reprojectionMatrix(IDENTITY, fromYawPitch(theta, 0));
    const r = reprojectUV({ u: 0.5, v: 0.5 }, m, t, t)!;
    close(r.u, 0.5 - Math.tan(theta) / (t.left + t.right), 1e-6, `θ=${theta}`);
    close(r.v, 0.5, 1e-6);
  }
});

test("reprojection of a pitch moves the picture down when looking up", () => {
  const t = symmetricTangents(40 * deg, 1.2);
  const m = reprojectionMatrix(IDENTITY, fromYawPitch(0, 5 * deg));
  const r = reprojectUV({ u: 0.5, v: 0.5 }, m, t, t)!;
  close(r.v, 0.5 + Math.tan(5 * deg) / (t.up + t.down), 1e-6);
});

test("reprojection is relative: only the difference of orientations matters", () => {
  const base = fromYawPitch(2.0, 0.3);
  const delta = fromAxisAngle({ x: 0.2, y: 1, z: 0.1 }, 0.15);
  const a = reprojectionMatrix(base, mul(base, delta));
  const b = reprojectionMatrix(IDENTITY, delta);
  for (let i = 0; i < 9; i++) close(a[i], b[i], 1e-6);
  // And it maps display directions into the rendered view: R_r⁻¹·R_d.
  const d = { x: 0.3, y: -0.2, z: -1 };
  const want = rotate(conj(base), rotate(mul(base, delta), d));
  const got = mat3Apply(a, d);
  close(got.x, want.x, 1e-6); close(got.y, want.y, 1e-6); close(got.z, want.z, 1e-6);
});

test("a ray behind the rendered view is rejected", () => {
  const t = symmetricTangents(45 * deg, 1);
  const m = reprojectionMatrix(IDENTITY, fromYawPitch(Math.PI, 0));
  assert.equal(reprojectUV({ u: 0.5, v: 0.5 }, m, t, t), null);
});

test("projection matrix ↔ frustum tangents, asymmetric", () => {
  const t = { left: 0.9, right: 1.1, up: 0.8, down: 1.3 };
  const p = projectionFromTangents(t, 0.1, 100);
  const back = tangentsFromProjection(p);
  close(back.left, t.left); close(back.right, t.right); close(back.up, t.up); close(back.down, t.down);
});

test("device orientation: upright portrait phone facing the horizon is the identity", () => {
  assert.ok(angleBetween(fromDeviceOrientation(0, 90, 0, 0), IDENTITY) < 1e-6);
  // Flat on a table, screen up: the camera looks down.
  const down = rotate(fromDeviceOrientation(0, 0, 0, 0), { x: 0, y: 0, z: -1 });
  close(down.y, -1, 1e-6);
  // Turning the phone about the vertical (alpha) turns the view left.
  assert.ok(angleBetween(fromDeviceOrientation(30, 90, 0, 0), fromYawPitch(30 * deg, 0)) < 1e-6);
  // Tilting it back (beta > 90) looks up.
  assert.ok(angleBetween(fromDeviceOrientation(0, 100, 0, 0), fromYawPitch(0, 10 * deg)) < 1e-6);
});

test("device orientation: landscape phone (screen angle 90) held upright looks at the horizon, up is up", () => {
  // Landscape-primary: top of the device to the left, screen vertical: beta 0, gamma -90.
  const q = fromDeviceOrientation(0, 0, -90, 90);
  const f = rotate(q, { x: 0, y: 0, z: -1 }), up = rotate(q, { x: 0, y: 1, z: 0 });
  close(f.y, 0, 1e-6, "forward horizontal");
  close(up.y, 1, 1e-6, "up vertical");
});
