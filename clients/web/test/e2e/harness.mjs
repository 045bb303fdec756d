// Shared helpers of the browser end-to-end tests: a real render node
// process, headless Debian Chromium driven by playwright-core, and image
// comparison of the client's composited frames.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.HOLOCAST_CHROMIUM || "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

/** Whether a child process has ended (by an exit code or by a signal). */
const ended = (proc) => proc.exitCode !== null || proc.signalCode !== null;

/**
 * Ends a child process: SIGTERM, SIGKILL after 5 s; resolves at once for
 * one that has already ended (exited, or killed by a signal).
 */
async function terminate(proc) {
  if (ended(proc)) return;
  const done = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGTERM");
  const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await done;
  clearTimeout(t);
}

/**
 * Starts holocast-node on a free loopback port over plain HTTP, with an
 * access token. Returns { url, token, page(query), log, kill, stop }: url
 * is the node's base URL (no token), page(query) the URL to open, with the
 * token in its fragment as the node prints it; kill() crashes the node
 * (SIGKILL, no drain) and resolves once the process is gone; stop() ends
 * it (SIGTERM) and copes with a node already killed.
 */
export async function startNode(extraArgs = []) {
  const bin = process.env.HOLOCAST_NODE_BIN;
  if (!bin) throw new Error("HOLOCAST_NODE_BIN must name a built cmd/holocast-node binary (clients/web/test.sh sets it)");
  const token = randomBytes(24).toString("base64url");
  // A fresh --cert-dir: the node never writes into the user's configuration.
  const certDir = mkdtempSync(join(tmpdir(), "holocast-node-"));
  const args = ["--listen", "127.0.0.1:0", "--insecure-http", "--width", "640", "--height", "360", "--fps", "30",
    "--max-width", "640", "--max-height", "360", "--log-level", "info", "--cert-dir", certDir, "--token", token,
    // No metrics listener: its fixed default port would collide between nodes that run at once.
    "--metrics-listen", "", ...extraArgs];
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stderr.on("data", (d) => { log += d; });
  const printed = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("render node did not start in 30 s:\n" + log)), 30000);
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /open (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    proc.on("exit", (code) => { clearTimeout(t); reject(new Error(`render node exited (${code}):\n${log}`)); });
  });
  const [url, fragment] = printed.split("#");
  if (fragment !== `token=${token}`) throw new Error(`the node printed ${printed}, not its URL with #token=<the token>`);
  if (log.includes(token)) throw new Error("the node logged its token");
  return {
    url,
    token,
    page: (query = "") => url + query + "#token=" + token,
    log: () => log,
    async kill() {
      if (ended(proc)) return;
      const done = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await done;
    },
    async stop() {
      if (process.env.HOLOCAST_TEST_VERBOSE) console.log("[node log]\n" + log);
      if (log.includes(token)) throw new Error("the node logged its token");
      rmSync(certDir, { recursive: true, force: true });
      await terminate(proc);
    },
  };
}

/** Launches Chromium with a fresh profile; returns { context, page, close, problems }. */
export async function launch({ initScript } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "holocast-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 960, height: 540 },
  });
  if (initScript) await context.addInitScript(initScript);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.push("CSP: " + t);
    if (process.env.HOLOCAST_TEST_VERBOSE) console.log("[page]", t);
  });
  return {
    context, page, problems,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Polls fn in the page until it returns a truthy value. */
export async function waitFor(page, fn, arg, { timeout = 60000, what = "condition" } = {}) {
  try {
    const h = await page.waitForFunction(fn, arg, { timeout, polling: 200 });
    return await h.jsonValue();
  } catch (err) {
    const stats = await page.evaluate(() => window.holocast?.stats()).catch(() => null);
    throw new Error(`timed out waiting for ${what}: ${err.message}\nstats: ${JSON.stringify(stats)}`);
  }
}

export const stats = (page) => page.evaluate(() => window.holocast.stats());

/** Luminance snapshot of the next composited frame. */
export const snapshot = (page) => page.evaluate(() => window.holocast.app.snapshot());

/** Mean absolute difference of two snapshots (0–255). */
export function meanAbsDiff(a, b) {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

/**
 * Horizontal shift (in snapshot pixels) that best maps region r of a onto b:
 * b(x, y) ≈ a(x − shift, y). r = {x0, x1, y0, y1}.
 */
export function horizontalShift(a, b, r, maxShift) {
  let best = 0, bestErr = Infinity;
  for (let s = -maxShift; s <= maxShift; s++) {
    let err = 0, n = 0;
    for (let y = r.y0; y < r.y1; y++) {
      for (let x = r.x0; x < r.x1; x++) {
        const xa = x - s;
        if (xa < 0 || xa >= a.width) continue;
        err += Math.abs(b.data[y * b.width + x] - a.data[y * a.width + xa]);
        n++;
      }
    }
    if (n && err / n < bestErr) { bestErr = err / n; best = s; }
  }
  return { shift: best, err: bestErr };
}

/** Sign-invariant angle between quaternions {x,y,z,w}, degrees. */
export function angleDeg(a, b) {
  const d = Math.abs(a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w);
  return (2 * Math.acos(Math.min(1, d)) * 180) / Math.PI;
}

/** Orientation of yaw (about +Y, left positive) then pitch (about +X), degrees. */
export function yawPitch(yawDeg, pitchDeg) {
  const y = (yawDeg * Math.PI) / 360, p = (pitchDeg * Math.PI) / 360;
  const cy = Math.cos(y), sy = Math.sin(y), cp = Math.cos(p), sp = Math.sin(p);
  // q = qYaw * qPitch
  return { x: cy * sp, y: sy * cp, z: -sy * sp, w: cy * cp };
}

/**
 * In-plane rotation (degrees, image coordinates with y down) that best maps
 * a onto b about centre (cx, cy) within radius r: b(p) ≈ a(R(α)(p − c) + c).
 */
export function bestRotation(a, b, cx, cy, r, candidates) {
  let best = NaN, bestErr = Infinity;
  for (const deg of candidates) {
    const t = (deg * Math.PI) / 180, c = Math.cos(t), s = Math.sin(t);
    let err = 0, n = 0;
    for (let y = Math.ceil(cy - r); y <= cy + r; y++) {
      for (let x = Math.ceil(cx - r); x <= cx + r; x++) {
        const dx = x - cx, dy = y - cy;
        if (dx * dx + dy * dy > r * r) continue;
        const xa = Math.round(cx + c * dx - s * dy), ya = Math.round(cy + s * dx + c * dy);
        if (xa < 0 || ya < 0 || xa >= a.width || ya >= a.height) continue;
        err += Math.abs(b.data[y * b.width + x] - a.data[ya * a.width + xa]);
        n++;
      }
    }
    if (n && err / n < bestErr) { bestErr = err / n; best = deg; }
  }
  return { angle: best, err: bestErr };
}

/** Quaternion product a·b. */
export function qmul(a, b) {
  return {
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
  };
}

/** Spawns bin with args and resolves with the first match of re in its stderr or stdout. */
function spawnUntil(what, bin, args, re) {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const matched = new Promise((resolve, reject) => {
    const t = setTimeout(() => { proc.kill("SIGKILL"); reject(new Error(`${what} did not start in 30 s:\n${log}`)); }, 30000);
    const look = (d) => {
      log += d;
      const m = re.exec(log);
      if (m) { clearTimeout(t); resolve(m); }
    };
    proc.stdout.on("data", look);
    proc.stderr.on("data", look);
    proc.on("exit", (code) => { clearTimeout(t); reject(new Error(`${what} exited (${code}):\n${log}`)); });
  });
  const stop = async () => {
    if (process.env.HOLOCAST_TEST_VERBOSE) console.log(`[${what} log]\n` + log);
    await terminate(proc);
  };
  return { matched, stop, log: () => log };
}

/**
 * Starts a NATS server (HOLOCAST_NATS_BIN, built from the module's
 * nats-server/v2) on a free loopback port. Returns { url, stop }.
 */
export async function startNATS() {
  const bin = process.env.HOLOCAST_NATS_BIN;
  if (!bin) throw new Error("HOLOCAST_NATS_BIN must name a nats-server binary (clients/web/test.sh builds it)");
  const p = spawnUntil("nats-server", bin, ["-a", "127.0.0.1", "-p", "-1"], /Listening for client connections on (\S+)/);
  const m = await p.matched;
  return { url: "nats://" + m[1], stop: p.stop };
}

/**
 * Starts holocast-gateway (HOLOCAST_GATEWAY_BIN) on a free loopback port
 * over plain HTTP with an access token, placing sessions over the NATS
 * server at natsURL. Returns { url, token, page(query), log, stop }.
 */
export async function startGateway(natsURL, extraArgs = []) {
  const bin = process.env.HOLOCAST_GATEWAY_BIN;
  if (!bin) throw new Error("HOLOCAST_GATEWAY_BIN must name a built cmd/holocast-gateway binary (clients/web/test.sh sets it)");
  const token = randomBytes(24).toString("base64url");
  const p = spawnUntil("holocast-gateway", bin, ["--listen", "127.0.0.1:0", "--insecure-http", "--token", token, "--nats", natsURL,
    "--ops-listen", "", ...extraArgs], /msg="gateway ready" listen=(\S+)/);
  const m = await p.matched;
  const url = `http://${m[1]}/`;
  return {
    url, token,
    page: (query = "") => url + query + "#token=" + token,
    log: p.log,
    async stop() {
      if (p.log().includes(token)) throw new Error("the gateway logged its token");
      await p.stop();
    },
  };
}
