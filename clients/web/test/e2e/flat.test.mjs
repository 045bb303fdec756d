// Flat (desktop) mode against a real render node in headless Chromium.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { angleDeg, launch, meanAbsDiff, snapshot, startNode, stats, waitFor, yawPitch } from "./harness.mjs";

let node, browser;
before(async () => {
  node = await startNode();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await node?.stop();
});

test("flat mode connects, decodes and displays ≥ 60 frames, reports latency", { timeout: 120000 }, async () => {
  const { page } = browser;
  const resp = await page.goto(node.page());
  assert.match(resp.headers()["content-security-policy"] ?? "", /script-src 'self'/, "node serves the page with its CSP");
  // The page took the token from the fragment: gone from the address bar, kept for the tab.
  assert.equal(page.url(), node.url, "the token is removed from the address bar");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("holocast.token")), node.token);
  await waitFor(page, () => { const s = window.holocast.stats(); return s.framesDecoded >= 60 && s.framesDisplayed >= 60; }, null, { what: "60 decoded and displayed frames", timeout: 90000 });
  const s = await stats(page);
  assert.equal(s.mode, "flat");
  assert.equal(s.state, "connected");
  assert.ok(s.framesMatched >= 30, `displayed frames matched to FrameInfo by RTP timestamp: ${s.framesMatched}`);
  assert.ok(s.poseToFrameMs.p50 > 0 && s.poseToFrameMs.p95 >= s.poseToFrameMs.p50, `pose→frame ${JSON.stringify(s.poseToFrameMs)}`);
  assert.ok(s.poseToFrameMs.p95 < 5000, `pose→frame p95 ${s.poseToFrameMs.p95} ms is plausible`);
  assert.ok(s.motionToPhotonMs.p50 >= s.poseToFrameMs.p50 * 0.5, `motion→photon ${JSON.stringify(s.motionToPhotonMs)}`);
  console.log(`# flat after 60 frames: pose→frame ${JSON.stringify(s.poseToFrameMs)} ms, motion→photon ${JSON.stringify(s.motionToPhotonMs)} ms`);
  assert.equal(s.reprojection, true);
  assert.equal(s.session.width, 640);
  // Chromium offers RTX (RFC 4588): the node's answer pairs an RTX format
  // with the H.264 one and announces the RTX SSRC (FID group).
  const sdp = await page.evaluate(() => window.holocast.app.conn?.pc?.remoteDescription?.sdp ?? "");
  const h264 = sdp.match(/a=rtpmap:(\d+) H264\/90000/);
  assert.ok(h264, "the answer has H.264");
  assert.match(sdp, new RegExp(`a=fmtp:\\d+ apt=${h264[1]}\\r?\\n`), "the answer has RTX for the H.264 format");
  assert.match(sdp, /a=ssrc-group:FID \d+ \d+/, "the answer names the RTX SSRC");
  // It accepts the playout-delay extension, with which every video packet
  // asks Chromium to show the frame as soon as it is decoded.
  assert.match(sdp, /a=extmap:\d+ http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/playout-delay\r?\n/, "the answer has the playout-delay extension");
  assert.ok(s.nodeTimingsMs && s.nodeTimingsMs.render > 0, "node stage timings from FrameInfo");
  assert.ok(s.posesSent > 30);
  assert.match(node.log(), /device config.*name="Flat \(desktop browser\)"/, "node applied the DeviceConfig");
  // The node takes the reported motion-to-photon latency as its prediction horizon.
  await waitFor(page, () => window.holocast.stats().reportedMotionToPhotonMs > 0, null, { what: "a ClientReport", timeout: 10000 });
  // The node smooths the reports: poll until its horizon has converged.
  await waitFor(page, () => {
    const s = window.holocast.stats();
    const want = Math.min(300, s.reportedMotionToPhotonMs), got = s.lastFrameInfo?.horizonMs ?? -1;
    return want > 0 && Math.abs(got - want) <= Math.max(0.5 * want, 30);
  }, null, { what: "node horizon to follow the reported motion-to-photon", timeout: 30000 });
  // The page tells the node its display timing from requestAnimationFrame
  // once a second; the node then aims its frames at the display's vsyncs
  // and names the display time in FrameInfo — unless its work per frame
  // does not fit a frame interval (a busy machine), when it renders on the
  // pose instead: a frame it aimed names a time on the page's clock.
  await waitFor(page, () => window.holocast.stats().displayTimingsSent > 0, null, { what: "a DisplayTiming sent", timeout: 10000 });
  await page.waitForTimeout(2000);
  const aimed = await stats(page);
  const pageNow = await page.evaluate(() => performance.now());
  const target = aimed.lastFrameInfo.targetDisplayMs;
  assert.ok(target === 0 || Math.abs(target - pageNow) < 2000, `target display time ${target} ms is on the page's clock (now ${pageNow} ms)`);
  console.log(`# flat: pose→frame ${JSON.stringify(aimed.poseToFrameMs)} ms, motion→photon ${JSON.stringify(aimed.motionToPhotonMs)} ms, node ${JSON.stringify(aimed.nodeTimingsMs)}`);
  assert.deepEqual(browser.problems, []);
});

test("the displayed picture changes when the pose changes (keyboard look)", { timeout: 120000 }, async () => {
  const { page } = browser;
  // Without reprojection, what is shown is only what the node rendered.
  await page.evaluate(() => window.holocast.setReprojection(false));
  const a = await snapshot(page);
  await page.waitForTimeout(1500);
  const a2 = await snapshot(page);
  const still = meanAbsDiff(a, a2);

  await page.locator("#view").focus().catch(() => {});
  await page.keyboard.down("ArrowLeft");
  await waitFor(page, () => window.holocast.app.yaw > 0.25, null, { what: "the arrow key to turn the view", timeout: 20000 });
  await page.keyboard.up("ArrowLeft");
  const head = await page.evaluate(() => window.holocast.app.debugState().head);
  const yaw = (2 * Math.atan2(head.y, head.w) * 180) / Math.PI;
  assert.ok(yaw > 14, `arrow key turned the view left: yaw ${yaw}°`);
  // Wait until frames rendered for the new pose are displayed.
  await waitFor(page, (h) => {
    const f = window.holocast.stats().lastFrameInfo?.renderedOrientation;
    if (!f) return false;
    const d = Math.abs(f.x * h.x + f.y * h.y + f.z * h.z + f.w * h.w);
    return 2 * Math.acos(Math.min(1, d)) < 0.02;
  }, head, { what: "a frame rendered for the new pose" });
  await page.waitForTimeout(500);
  const b = await snapshot(page);
  const moved = meanAbsDiff(a, b);
  assert.ok(moved > 8 && moved > 4 * still, `picture changed with the pose: diff ${moved.toFixed(1)} vs ${still.toFixed(1)} when still`);

  // The node rendered the orientation the client sent.
  const s = await stats(page);
  assert.ok(angleDeg(s.lastFrameInfo.renderedOrientation, s.lastPose.orientation) < 1.5, "rendered orientation ≈ sent pose");
  assert.ok(angleDeg(s.lastPose.orientation, yawPitch(yaw, 0)) < 0.5);

  // Mouse drag turns too.
  const before = (await page.evaluate(() => window.holocast.app.yaw));
  await page.mouse.move(480, 270);
  await page.mouse.down();
  await page.mouse.move(380, 270, { steps: 5 });
  await page.mouse.up();
  const after = (await page.evaluate(() => window.holocast.app.yaw));
  assert.ok(Math.abs(after - before + 100 * 0.005) < 1e-6, `drag of 100 px turned by 0.5 rad: ${before} → ${after}`);
  await page.evaluate(() => window.holocast.setReprojection(true));
  assert.deepEqual(browser.problems, []);
});

test("disconnect ends the session at the node; connect starts a new one; a dropped session reconnects", { timeout: 120000 }, async () => {
  const { page } = browser;
  const id1 = (await stats(page)).session.id;
  await page.evaluate(() => window.holocast.disconnect());
  await waitFor(page, async (u) => (await (await fetch(u + "healthz")).text()).includes("sessions=0"), node.url, { what: "node to drop the session", timeout: 20000 });
  assert.equal((await stats(page)).state, "disconnected");
  await page.evaluate(() => window.holocast.connect());
  await waitFor(page, (id) => { const s = window.holocast.stats(); return s.state === "connected" && s.session && s.session.id !== id; }, id1, { what: "new session" });
  const id2 = (await stats(page)).session.id;
  // The node ends the session (as after a network drop): the client reconnects by itself.
  const code = await page.evaluate(async (id) => (await fetch("v1/sessions/" + id, {
    method: "DELETE", headers: { Authorization: "Bearer " + sessionStorage.getItem("holocast.token") },
  })).status, id2);
  assert.ok(code >= 200 && code < 300, `DELETE ${code}`);
  await waitFor(page, (id) => { const s = window.holocast.stats(); return s.state === "connected" && s.session && s.session.id !== id; }, id2, { what: "automatic reconnect", timeout: 60000 });
  const shown = (await stats(page)).framesDisplayed;
  await waitFor(page, (n) => window.holocast.stats().framesDisplayed >= n + 10, shown, { what: "frames displayed after reconnecting", timeout: 30000 });
  // Leaving the page (pagehide) ends the session at the node.
  await page.goto("about:blank");
  const deadline = Date.now() + 15000;
  let health = "";
  while (Date.now() < deadline) {
    health = await (await fetch(node.url + "healthz")).text();
    if (health.includes("sessions=0")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(health, /sessions=0/, "session deleted on pagehide");
});

test("signaling errors are shown readably", { timeout: 60000 }, async () => {
  const { page } = browser;
  // A second node that refuses every session (cap reached by the first page).
  const busy = await startNode(["--max-sessions", "1"]);
  const other = await launch();
  try {
    await other.page.goto(busy.page());
    await waitFor(other.page, () => window.holocast.stats().state === "connected", null, { what: "first session" });
    await page.goto(busy.page());
    await waitFor(page, () => /HTTP 503/.test(document.getElementById("message").textContent), null, { what: "503 message", timeout: 30000 });
    const text = await page.locator("#message").textContent();
    assert.match(text, /refused the session \(HTTP 503\)/);
  } finally {
    await other.close();
    await busy.stop();
  }
});

test("without the token the page shows a readable unauthorized message", { timeout: 60000 }, async () => {
  const b = await launch();
  try {
    // Opened without the fragment the node printed: no token at all.
    await b.page.goto(node.url);
    await waitFor(b.page, () => window.holocast.stats().state === "error", null, { what: "error state", timeout: 20000 });
    const text = await b.page.locator("#message").textContent();
    assert.match(text, /^Unauthorized: this render node needs an access token\. Open the URL the node printed at start \(it ends in #token=…\)\.$/);
    assert.equal(await b.page.locator("#message").isVisible(), true);
    // A wrong token says so (a new document: a fragment change alone would not reload the page).
    await b.page.goto("about:blank");
    await b.page.goto(node.url + "#token=not-the-right-token-0123456789");
    await waitFor(b.page, () => window.holocast.stats().state === "error", null, { what: "error state", timeout: 20000 });
    assert.match(await b.page.locator("#message").textContent(), /refused this page's access token \(invalid token\)/);
    // Refusals are not retried.
    await b.page.waitForTimeout(2500);
    assert.equal((await stats(b.page)).state, "error");
    assert.deepEqual(b.problems, []);
  } finally {
    await b.close();
  }
});

test("a browser without the node's H.264 gets a clear message", { timeout: 60000 }, async () => {
  // Make this browser report only VP8 and High-profile H.264.
  const noCodec = launch({ initScript: () => {
    const orig = RTCRtpReceiver.getCapabilities.bind(RTCRtpReceiver);
    RTCRtpReceiver.getCapabilities = (kind) => {
      const c = orig(kind);
      if (kind === "video" && c) c.codecs = c.codecs.filter((x) => !/h264/i.test(x.mimeType) || /profile-level-id=64/.test(x.sdpFmtpLine ?? ""));
      return c;
    };
  } });
  const b = await noCodec;
  try {
    await b.page.goto(node.page());
    await waitFor(b.page, () => window.holocast.stats().state === "error", null, { what: "error state", timeout: 20000 });
    assert.match(await b.page.locator("#message").textContent(), /cannot decode H\.264/);
  } finally {
    await b.close();
  }
});
