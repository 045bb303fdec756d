// A user's glTF model in flat (desktop) mode: the node started with
// --scene shows it, shift-drag turns it and the wheel scales it (sent as
// ModelTransform, echoed in FrameInfo), and the picture changes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
  node = await startNode(["--scene", join(dir, "box.gltf")]);
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
  assert.ok(dTurn > 3 * still + 0.5, `turning the model changed the picture by ${dTurn} (still ${still})`);
  assert.ok(dScale > 3 * still + 0.5, `scaling the model changed the picture by ${dScale} (still ${still})`);
  assert.deepEqual(browser.problems, []);
});
