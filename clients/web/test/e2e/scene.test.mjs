// A user's glTF model in flat (desktop) mode: the node started with
// --scene shows it, shift-drag turns it and the wheel scales it (sent as
// ModelTransform, echoed in FrameInfo), and the picture changes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, meanAbsDiff, snapshot, startNode, stats, waitFor } from "./harness.mjs";

// A .gltf with an embedded buffer: an unlit box, one colour per side pair,
// so that turning it shows other sides.
function boxGLTF() {
  const faces = [
    [[0, 0, 1], [1, 0.2, 0.2]], [[0, 0, -1], [1, 0.2, 0.2]],
    [[1, 0, 0], [0.2, 0.9, 0.2]], [[-1, 0, 0], [0.2, 0.9, 0.2]],
    [[0, 1, 0], [0.2, 0.3, 1]], [[0, -1, 0], [0.2, 0.3, 1]],
  ];
  const pos = [], col = [], idx = [];
  for (const [n, c] of faces) {
    // Two axes perpendicular to n.
    const u = n[0] !== 0 ? [0, 1, 0] : [1, 0, 0];
    const v = [n[1] * u[2] - n[2] * u[1], n[2] * u[0] - n[0] * u[2], n[0] * u[1] - n[1] * u[0]];
    const base = pos.length / 3;
    for (const [a, b] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
      for (let k = 0; k < 3; k++) pos.push(0.5 * (n[k] + a * u[k] + b * v[k]));
      col.push(c[0], c[1], c[2], 1);
    }
    idx.push(base, base + 1, base + 2, base, base + 2, base + 3);
  }
  const p = Buffer.from(new Float32Array(pos).buffer), c = Buffer.from(new Float32Array(col).buffer), i = Buffer.from(new Uint32Array(idx).buffer);
  const bin = Buffer.concat([p, c, i]);
  return JSON.stringify({
    asset: { version: "2.0" }, scene: 0, scenes: [{ nodes: [0] }], nodes: [{ mesh: 0 }],
    extensionsUsed: ["KHR_materials_unlit"],
    materials: [{ doubleSided: true, extensions: { KHR_materials_unlit: {} } }],
    meshes: [{ primitives: [{ attributes: { POSITION: 0, COLOR_0: 1 }, indices: 2, material: 0 }] }],
    accessors: [
      { bufferView: 0, componentType: 5126, count: pos.length / 3, type: "VEC3", min: [-0.5, -0.5, -0.5], max: [0.5, 0.5, 0.5] },
      { bufferView: 1, componentType: 5126, count: col.length / 4, type: "VEC4" },
      { bufferView: 2, componentType: 5125, count: idx.length, type: "SCALAR" },
    ],
    bufferViews: [
      { buffer: 0, byteOffset: 0, byteLength: p.length },
      { buffer: 0, byteOffset: p.length, byteLength: c.length },
      { buffer: 0, byteOffset: p.length + c.length, byteLength: i.length },
    ],
    buffers: [{ byteLength: bin.length, uri: "data:application/octet-stream;base64," + bin.toString("base64") }],
  });
}

let node, browser, dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "holocast-scene-"));
  writeFileSync(join(dir, "box.gltf"), boxGLTF());
  // --degrade=false: the test compares pictures, which a step of the
  // degradation ladder (a smaller frame on a busy machine) would change.
  node = await startNode(["--scene", join(dir, "box.gltf"), "--degrade=false"]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a --scene model is shown; shift-drag turns it and the wheel scales it", { timeout: 180000 }, async () => {
  const { page } = browser;
  await page.goto(node.page());
  await waitFor(page, () => { const s = window.holocast.stats(); return s.framesDisplayed >= 20 && s.lastFrameInfo?.scene === "box"; }, null, { what: "frames of the box scene", timeout: 90000 });
  assert.ok((await stats(page)).lastFrameInfo.triangles >= 12, "FrameInfo counts the drawn triangles");
  await page.evaluate(() => window.holocast.setReprojection(false));
  await page.waitForTimeout(1000);
  const a = await snapshot(page);
  await page.waitForTimeout(1000);
  const still = meanAbsDiff(a, await snapshot(page));

  const box = await page.locator("canvas").first().boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  await page.keyboard.down("Shift");
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let k = 1; k <= 10; k++) await page.mouse.move(cx + 20 * k, cy);
  await page.mouse.up();
  await page.keyboard.up("Shift");
  const turned = await page.evaluate(() => window.holocast.app.modelYaw);
  assert.ok(Math.abs(turned) > 0.3, `shift-drag turned the model by ${turned} rad`);
  assert.equal(await page.evaluate(() => window.holocast.app.yaw), 0, "shift-drag does not turn the view");
  await waitFor(page, () => window.holocast.stats().lastFrameInfo?.modelTransformSeq >= 10, null, { what: "frames rendered with the turned model", timeout: 30000 });
  await page.waitForTimeout(1000);
  const b = await snapshot(page);
  const dTurn = meanAbsDiff(a, b);

  await page.mouse.move(cx, cy);
  await page.mouse.wheel(0, -600);
  await waitFor(page, () => window.holocast.app.modelScale > 1.5, null, { what: "the wheel to scale the model", timeout: 10000 });
  await waitFor(page, () => window.holocast.stats().lastFrameInfo?.modelTransformSeq >= 11, null, { what: "frames rendered with the scaled model", timeout: 30000 });
  await page.waitForTimeout(1000);
  const dScale = meanAbsDiff(b, await snapshot(page));
  console.log(`mean |ΔY|: still ${still.toFixed(2)}, turned ${dTurn.toFixed(2)}, scaled ${dScale.toFixed(2)}`);
  // The box is small on screen: turning it changes the mean by about 0.7
  // against 0.05-0.1 of noise between two still pictures.
  assert.ok(dTurn > 2 * still + 0.3, `turning the model changed the picture by ${dTurn} (still ${still})`);
  assert.ok(dScale > 3 * still + 0.5, `scaling the model changed the picture by ${dScale} (still ${still})`);
  assert.deepEqual(browser.problems, []);
});

test("the page lists the node's scenes and switching one changes the picture", { timeout: 180000 }, async () => {
  const { page } = browser;
  await page.goto(node.page());
  await waitFor(page, () => window.holocast.stats().lastFrameInfo?.scene === "box" && document.querySelectorAll("#scene option").length >= 2, null, { what: "the box scene and the scene list", timeout: 90000 });
  assert.deepEqual(await page.evaluate(() => [...document.querySelectorAll("#scene option")].map((o) => o.value).sort()), ["box", "builtin"]);
  assert.equal(await page.locator("#scene").inputValue(), "box", "the list shows the session's scene");
  await page.evaluate(() => window.holocast.setReprojection(false));
  await page.waitForTimeout(1000);
  const a = await snapshot(page);
  await page.selectOption("#scene", "builtin");
  await waitFor(page, () => window.holocast.stats().lastFrameInfo?.scene === "builtin" && window.holocast.stats().scene === "builtin", null, { what: "frames of the built-in scene", timeout: 30000 });
  await page.waitForTimeout(1000);
  const d = meanAbsDiff(a, await snapshot(page));
  console.log(`mean |ΔY| box -> builtin: ${d.toFixed(2)}`);
  assert.ok(d > 2, `switching the scene changed the picture by ${d}`);
  assert.match(page.url(), /[?&]scene=builtin/, "the choice stays in the address for reconnects");
  assert.deepEqual(browser.problems, []);
});

test("WebXR input: a squeezed controller moves and turns the model, two pinching hands scale it", { timeout: 180000 }, async () => {
  const xrBrowser = await launch({ initScript: readFileSync(new URL("./fakexr.js", import.meta.url), "utf8") });
  try {
    const { page } = xrBrowser;
    await page.goto(node.page("?scene=box"));
    await waitFor(page, () => window.holocast.stats().lastFrameInfo?.scene === "box", null, { what: "frames of the box scene", timeout: 90000 });
    assert.equal(await page.evaluate(() => window.holocast.setMode("immersive-vr")), "immersive-vr");
    await waitFor(page, () => window.__fakeXR.frames > 5, null, { what: "XR frames" });
    await page.evaluate(() => window.holocast.setReprojection(false));
    await page.waitForTimeout(1000);
    const a = await snapshot(page);

    // One controller: squeeze, move 30 cm right and turn 40° left, release.
    await page.evaluate(() => {
      const x = window.__fakeXR;
      x.grips.right = { position: { x: 0.2, y: 1.2, z: -0.5 }, orientation: { x: 0, y: 0, z: 0, w: 1 } };
      x.addInput("right");
      x.input("squeezestart", "right");
    });
    await waitFor(page, () => window.holocast.stats().grabbing === 1, null, { what: "the grab", timeout: 5000 });
    const f0 = await page.evaluate(() => window.__fakeXR.frames);
    await waitFor(page, (f0) => window.__fakeXR.frames > f0 + 3, f0, { what: "XR frames with the grab" });
    await page.evaluate(() => {
      const h = 20 * Math.PI / 180;
      window.__fakeXR.grips.right = { position: { x: 0.5, y: 1.2, z: -0.5 }, orientation: { x: 0, y: Math.sin(h), z: 0, w: Math.cos(h) } };
    });
    await waitFor(page, () => Math.abs(window.holocast.stats().model.position.x - 0.3) < 1e-3, null, { what: "the model to follow the controller", timeout: 10000 });
    const m = (await stats(page)).model;
    assert.ok(Math.abs(m.position.y) < 1e-6 && Math.abs(m.position.z) < 1e-6, `moved ${JSON.stringify(m.position)}`);
    assert.ok(Math.abs(2 * Math.atan2(m.orientation.y, m.orientation.w) - 40 * Math.PI / 180) < 1e-3, `turned ${JSON.stringify(m.orientation)}`);
    await page.evaluate(() => window.__fakeXR.input("squeezeend", "right"));
    await waitFor(page, () => window.holocast.stats().grabbing === 0, null, { what: "the release", timeout: 5000 });
    const seq = await page.evaluate(() => window.holocast.app.modelSeqSent());
    await waitFor(page, (seq) => window.holocast.stats().lastFrameInfo?.modelTransformSeq >= seq, seq, { what: "frames rendered with the moved model", timeout: 30000 });
    await page.waitForTimeout(1000);
    const b = await snapshot(page);
    const dMove = meanAbsDiff(a, b);

    // Two hands pinch and move apart to twice their distance.
    await page.evaluate(() => {
      const x = window.__fakeXR, id = { x: 0, y: 0, z: 0, w: 1 };
      x.grips.lh = { position: { x: -0.1, y: 1.2, z: -0.4 }, orientation: id };
      x.grips.rh = { position: { x: 0.1, y: 1.2, z: -0.4 }, orientation: id };
      x.addInput("lh", { hand: true });
      x.addInput("rh", { hand: true });
      x.input("selectstart", "lh");
      x.input("selectstart", "rh");
    });
    await waitFor(page, () => window.holocast.stats().grabbing === 2, null, { what: "the two-hand grab", timeout: 5000 });
    const f1 = await page.evaluate(() => window.__fakeXR.frames);
    await waitFor(page, (f1) => window.__fakeXR.frames > f1 + 3, f1, { what: "XR frames with the grab" });
    await page.evaluate(() => {
      const x = window.__fakeXR;
      x.grips.lh.position = { x: -0.2, y: 1.2, z: -0.4 };
      x.grips.rh.position = { x: 0.2, y: 1.2, z: -0.4 };
    });
    await waitFor(page, () => Math.abs(window.holocast.stats().model.scale - 2) < 1e-3, null, { what: "the model to scale with the hands", timeout: 10000 });
    const hudBefore = await page.locator("#hud").isHidden();
    await page.evaluate(() => {
      const x = window.__fakeXR;
      for (const h of ["lh", "rh"]) { x.input("select", h); x.input("selectend", h); }
    });
    assert.equal(await page.locator("#hud").isHidden(), hudBefore, "a pinch that moved the model does not toggle the HUD");
    const seq2 = await page.evaluate(() => window.holocast.app.modelSeqSent());
    await waitFor(page, (seq) => window.holocast.stats().lastFrameInfo?.modelTransformSeq >= seq, seq2, { what: "frames rendered with the scaled model", timeout: 30000 });
    await page.waitForTimeout(1000);
    const dScale = meanAbsDiff(b, await snapshot(page));
    console.log(`mean |ΔY|: grabbed and moved ${dMove.toFixed(2)}, scaled ${dScale.toFixed(2)}`);
    assert.ok(dMove > 2, `moving the model changed the picture by ${dMove}`);
    assert.ok(dScale > 2, `scaling the model changed the picture by ${dScale}`);
    assert.deepEqual(xrBrowser.problems, []);
  } finally {
    await xrBrowser.close();
  }
});
