// Cardboard mode with synthetic deviceorientation events: the orientation
// sent follows the (recentred) device orientation, the node renders it, and
// the picture is drawn side by side with lens distortion.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { angleDeg, launch, snapshot, startNode, stats, waitFor, yawPitch } from "./harness.mjs";

let node, browser;
before(async () => {
  node = await startNode();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await node?.stop();
});

// Dispatch orientation events at 60 Hz from the page, as a phone would.
const orient = (page, a) => page.evaluate((a) => {
  window.__orient = a;
  if (!window.__orientTimer) {
    window.__orientTimer = setInterval(() => {
      const o = window.__orient;
      window.dispatchEvent(new DeviceOrientationEvent("deviceorientation", { alpha: o.alpha, beta: o.beta, gamma: o.gamma, absolute: false }));
    }, 16);
  }
}, a);

const rendered = (page, q, what) => waitFor(page, (q) => {
  const f = window.holocast.stats().lastFrameInfo?.renderedOrientation;
  if (!f) return false;
  const d = Math.abs(f.x * q.x + f.y * q.y + f.z * q.z + f.w * q.w);
  return 2 * Math.acos(Math.min(1, d)) < 0.01;
}, q, { what });

test("Cardboard follows deviceorientation, recentred to the first heading", { timeout: 120000 }, async () => {
  const { page } = browser;
  await page.goto(node.page("?mode=cardboard"));
  await waitFor(page, () => window.holocast.stats().state === "connected", null, { what: "connected" });
  assert.equal(await page.locator("#enter").textContent(), "Enter Cardboard");
  // Phone upright in portrait facing some compass heading: that heading becomes forward.
  await orient(page, { alpha: 140, beta: 90, gamma: 0 });
  assert.equal(await page.evaluate(() => window.holocast.setMode("cardboard")), "cardboard");
  await rendered(page, yawPitch(0, 0), "a frame rendered looking forward");
  let s = await stats(page);
  assert.equal(s.mode, "cardboard");
  assert.ok(angleDeg(s.lastPose.orientation, yawPitch(0, 0)) < 1e-3, JSON.stringify(s.lastPose.orientation));

  // Turn 30° left (alpha grows counter-clockwise) and tilt 10° up (beta > 90).
  await orient(page, { alpha: 170, beta: 100, gamma: 0 });
  const want = yawPitch(30, 10);
  await rendered(page, want, "a frame rendered for the turned phone");
  s = await stats(page);
  assert.ok(angleDeg(s.lastPose.orientation, want) < 1e-3, `sent ${JSON.stringify(s.lastPose.orientation)}`);
  assert.ok(angleDeg(s.lastFrameInfo.renderedOrientation, want) < 0.6);
  assert.match(node.log(), /device config.*name=Cardboard/, "node applied the Cardboard DeviceConfig");

  // Side by side with barrel distortion: both halves lit, corners dark.
  // (Once the frame on screen is the one rendered for this pose.)
  await waitFor(page, () => {
    const d = window.holocast.app.debugState();
    if (!d.rendered) return false;
    const r = d.rendered, h = d.head;
    return 2 * Math.acos(Math.min(1, Math.abs(r.x * h.x + r.y * h.y + r.z * h.z + r.w * h.w))) < 0.005;
  }, null, { what: "the displayed frame to match the head pose" });
  const snap = await snapshot(page);
  if (process.env.HOLOCAST_TEST_SHOTS) await page.screenshot({ path: process.env.HOLOCAST_TEST_SHOTS + "/cardboard.png" });
  const at = (x, y) => snap.data[Math.floor(y) * snap.width + Math.floor(x)];
  const W = snap.width, H = snap.height;
  let lit = 0;
  for (const [x, y] of [[W * 0.25, H * 0.5], [W * 0.75, H * 0.5], [W * 0.25, H * 0.3], [W * 0.75, H * 0.3]]) if (at(x, y) > 15) lit++;
  assert.equal(lit, 4, "both eye centres show the scene");
  for (const [x, y] of [[1, 1], [W / 2 - 2, 1], [W / 2 + 1, H - 2], [W - 2, H - 2]]) assert.equal(at(x, y), 0, `corner (${x},${y}) is outside the lens`);

  // Recentre: the current heading becomes forward again (pitch kept).
  await page.keyboard.press("c");
  await rendered(page, yawPitch(0, 10), "a frame after recentring");
  assert.deepEqual(browser.problems, []);
});
