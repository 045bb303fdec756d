// The WebXR path with a scripted fake XR device: the poses sent are the
// scripted ones (as the node rendered them), both eyes are drawn, and
// reprojection turns the picture by the expected angle.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { angleDeg, bestRotation, horizontalShift, qmul, launch, meanAbsDiff, snapshot, startNode, stats, waitFor, yawPitch } from "./harness.mjs";

const fake = readFileSync(new URL("./fakexr.js", import.meta.url), "utf8");
let node, browser;
before(async () => {
  node = await startNode();
  browser = await launch({ initScript: fake });
});
after(async () => {
  await browser?.close();
  await node?.stop();
});

const setPose = (page, q) => page.evaluate((q) => { window.__fakeXR.pose.orientation = q; }, q);

test("immersive-vr: the scripted viewer poses are sent and rendered, DeviceConfig from the views", { timeout: 120000 }, async () => {
  const { page } = browser;
  await page.goto(node.page());
  await waitFor(page, () => window.holocast.stats().state === "connected", null, { what: "connected" });
  assert.equal(await page.evaluate(() => window.holocast.setMode("immersive-vr")), "immersive-vr");
  assert.equal(await page.evaluate(() => window.__fakeXR.requested.mode), "immersive-vr");
  const q = yawPitch(20, -5);
  await setPose(page, q);
  await waitFor(page, () => window.__fakeXR.frames > 10, null, { what: "XR frames" });
  await waitFor(page, (q) => {
    const s = window.holocast.stats();
    const f = s.lastFrameInfo?.renderedOrientation;
    if (!f) return false;
    const d = Math.abs(f.x * q.x + f.y * q.y + f.z * q.z + f.w * q.w);
    return 2 * Math.acos(Math.min(1, d)) < 0.01;
  }, q, { what: "a frame rendered for the scripted pose" });
  const s = await stats(page);
  assert.equal(s.mode, "immersive-vr");
  assert.ok(angleDeg(s.lastPose.orientation, q) < 1e-3, `sent ${JSON.stringify(s.lastPose.orientation)} want ${JSON.stringify(q)}`);
  assert.ok(Math.abs(s.lastPose.position.y - 1.6) < 1e-6);
  assert.ok(angleDeg(s.lastFrameInfo.renderedOrientation, q) < 0.6, "the node rendered the scripted orientation");
  assert.match(node.log(), /device config.*name="WebXR immersive-vr"[^\n]*ipd=0\.06[34]/, "DeviceConfig with the views' IPD");
  // Both eyes drawn: the halves show the scene, nearly alike (stereo).
  const snap = await snapshot(page);
  const half = snap.width / 2;
  let l = 0, r = 0, d = 0;
  for (let y = 0; y < snap.height; y++) for (let x = 0; x < half; x++) {
    const a = snap.data[y * snap.width + x], b = snap.data[y * snap.width + x + half];
    l += a; r += b; d += Math.abs(a - b);
  }
  const n = half * snap.height;
  assert.ok(l / n > 20 && r / n > 20, `both eyes lit: ${l / n} ${r / n}`);
  assert.ok(d / n < 40, `eyes similar: ${d / n}`);
  // The HUD is hidden in XR; a select gesture toggles it.
  assert.equal(await page.locator("#hud").isHidden(), true);
  await page.evaluate(() => window.__fakeXR.session.dispatchEvent(new Event("select")));
  await waitFor(page, () => !document.getElementById("hud").hidden, null, { what: "HUD after select", timeout: 5000 });
  assert.deepEqual(browser.problems, []);
});

test("reprojection turns the held frame by the pose delta (yaw shift, roll angle)", { timeout: 120000 }, async (t) => {
  const { page } = browser;
  const base = yawPitch(20, -5);
  // Hold the current video frame: the texture keeps the frame rendered for `base`.
  await page.evaluate(() => { window.holocast.app.hold = true; });
  const rendered = await page.evaluate(() => window.holocast.app.debugState().rendered);
  assert.ok(angleDeg(rendered, base) < 0.6, "held frame was rendered for the base pose");

  const thetaDeg = 6;
  // Head turns further left by θ (yaw about world up, like the frame's yaw).
  await setPose(page, yawPitch(20 + thetaDeg, -5));
  await page.evaluate(() => window.holocast.setReprojection(false));
  await page.waitForTimeout(300);
  const off = await snapshot(page);
  await page.evaluate(() => window.holocast.setReprojection(true));
  await page.waitForTimeout(300);
  const on = await snapshot(page);
  assert.ok(meanAbsDiff(off, on) > 3, "reprojection changes the picture");

  // Left eye viewport in snapshot pixels; the eye's horizontal tangent span.
  const eyeW = off.width / 2, eyeH = off.height;
  const tanV = Math.tan(Math.PI / 4), tanH = tanV * (eyeW / eyeH);
  // Centre of view: the content moves right by f·tan(Δyaw) (small pitch).
  const deltaYaw = thetaDeg + ((2 * Math.atan2(base.y, base.w) * 180) / Math.PI - (2 * Math.atan2(rendered.y, rendered.w) * 180) / Math.PI);
  const expected = (Math.tan((deltaYaw * Math.PI) / 180) / (2 * tanH)) * eyeW;
  const region = { x0: Math.round(eyeW * 0.3), x1: Math.round(eyeW * 0.7), y0: Math.round(eyeH * 0.35), y1: Math.round(eyeH * 0.65) };
  const { shift, err } = horizontalShift(off, on, region, 40);
  t.diagnostic(`Δyaw ${deltaYaw.toFixed(3)}°: picture moved ${shift} px, expected ${expected.toFixed(2)} px`);
  if (process.env.HOLOCAST_TEST_SHOTS) {
    await page.screenshot({ path: process.env.HOLOCAST_TEST_SHOTS + "/xr-reprojected.png" });
    await page.evaluate(() => window.holocast.setReprojection(false));
    await page.waitForTimeout(300);
    await page.screenshot({ path: process.env.HOLOCAST_TEST_SHOTS + "/xr-held.png" });
    await page.evaluate(() => window.holocast.setReprojection(true));
  }
  assert.ok(Math.abs(shift - expected) <= 1.5, `picture moved ${shift} px, expected ${expected.toFixed(2)} px (match error ${err.toFixed(1)})`);

  // Roll: the head turns counter-clockwise about its own forward axis by φ;
  // the world must turn clockwise by φ on screen about the eye's centre, i.e.
  // shown(p) = held(R(−φ)·p) in image coordinates (y down).
  const phi = 8;
  const roll = { x: 0, y: 0, z: Math.sin((phi * Math.PI) / 360), w: Math.cos((phi * Math.PI) / 360) };
  await setPose(page, qmul(rendered, roll));
  await page.waitForTimeout(300);
  const rolled = await snapshot(page);
  const candidates = [];
  for (let a = -15; a <= 15; a += 0.5) candidates.push(a);
  const rot = bestRotation(off, rolled, eyeW / 2, eyeH / 2, eyeH * 0.3, candidates);
  t.diagnostic(`roll ${phi}°: picture turned ${rot.angle}° (image coordinates), match error ${rot.err.toFixed(1)}`);
  assert.ok(Math.abs(rot.angle - -phi) <= 0.5, `picture turned ${rot.angle}°, expected ${-phi}°`);

  // And back: with the head at the rendered pose, reprojection is the identity.
  await setPose(page, rendered);
  await page.waitForTimeout(300);
  const same = await snapshot(page);
  assert.ok(meanAbsDiff(off, same) < 1.5, `no delta, no change: ${meanAbsDiff(off, same)}`);
  await page.evaluate(() => { window.holocast.app.hold = false; });
});

test("immersive-ar: requested with dom-overlay, session end returns to flat", { timeout: 60000 }, async () => {
  const { page } = browser;
  assert.equal(await page.evaluate(() => window.holocast.setMode("immersive-ar")), "immersive-ar");
  const req = await page.evaluate(() => window.__fakeXR.requested);
  assert.equal(req.mode, "immersive-ar");
  assert.ok(req.init.optionalFeatures.includes("dom-overlay"), JSON.stringify(req.init));
  await waitFor(page, () => window.holocast.stats().mode === "immersive-ar", null, { what: "AR mode" });
  await page.evaluate(() => window.__fakeXR.session.end());
  await waitFor(page, () => window.holocast.stats().mode === "flat", null, { what: "back to flat" });
  assert.deepEqual(browser.problems, []);
});

test("a denied XR session is reported and the page stays flat", { timeout: 60000 }, async () => {
  const { page } = browser;
  await page.evaluate(() => { window.__fakeXR.deny = true; });
  assert.equal(await page.evaluate(() => window.holocast.setMode("immersive-vr")), "flat");
  const text = await page.locator("#message").textContent();
  assert.match(text, /Permission for immersive-vr was denied/);
  await page.evaluate(() => { window.__fakeXR.deny = false; });
});
