// The browser client through a fleet: the page served by holocast-gateway
// asks the gateway for its STUN/TURN servers, posts its offer there, the
// gateway places the session on one of two render nodes over a real NATS
// server, and the page plays that node's frames (media flow between
// browser and node directly). Then that node crashes (SIGKILL): the page
// notices, reconnects through the gateway by itself and plays the other
// node's frames, and the crashed node leaves the gateway's /v1/nodes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { loadavg } from "node:os";
import { launch, startGateway, startNATS, startNode, stats, waitFor } from "./harness.mjs";

// Nothing answers on this: the browser gathers a little longer and
// connects over its host candidates.
const STUN = "stun:127.0.0.1:9";
const NODE_IDS = ["web-e2e-a", "web-e2e-b"];

let nats, nodes, gateway, browser;
before(async () => {
  nats = await startNATS();
  // Both nodes start at once (each takes seconds on a small machine).
  nodes = await Promise.all(NODE_IDS.map((id) => startNode(["--nats", nats.url, "--node-id", id, "--max-sessions", "1"])));
  gateway = await startGateway(nats.url, ["--ice-server", STUN]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await gateway?.stop();
  for (const n of nodes ?? []) await n.stop();
  await nats?.stop();
});

/** The fleet as the gateway lists it. */
async function fleet() {
  const resp = await fetch(new URL("v1/nodes", gateway.url), { headers: { Authorization: `Bearer ${gateway.token}` } });
  assert.equal(resp.status, 200);
  return (await resp.json()).nodes;
}

/** Polls the fleet until ok(nodes) holds; returns the nodes, or fails with what after ms. */
async function fleetUntil(ok, what, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const f = await fleet();
    if (ok(f)) return f;
    assert.ok(Date.now() < deadline, `${what} (within ${ms} ms); /v1/nodes: ${JSON.stringify(f)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The node the gateway placed session id on, from its "session placed" log line. */
function placedOn(id) {
  const m = new RegExp(`msg="session placed" .*\\bnode_id=(\\S+) session=${id} `).exec(gateway.log());
  return m?.[1];
}

test("the page served by the gateway places a session on a node and plays its frames", { timeout: 150000 }, async () => {
  await fleetUntil((f) => NODE_IDS.every((id) => f.some((n) => n.id === id && n.accepting)), "both nodes show up accepting at the gateway", 30000);
  const { page } = browser;
  await page.goto(gateway.page());
  await waitFor(page, () => window.holocast.stats().framesDecoded >= 10, null, { what: "10 decoded frames through the gateway", timeout: 90000 });
  const s = await stats(page);
  assert.equal(s.state, "connected");
  assert.deepEqual(s.iceServers, [{ urls: [STUN] }], "the gateway's own ICE servers, from its OPTIONS answer");
  const on = placedOn(s.session.id);
  assert.ok(NODE_IDS.includes(on), `the gateway logged where it placed session ${s.session.id}:\n${gateway.log()}`);
  await fleetUntil((f) => f.find((x) => x.id === on)?.sessions === 1, `node ${on} holds the page's session`, 10000);
  assert.deepEqual(browser.problems, []);
});

test("a crashed node: the page reconnects through the gateway onto the other node; the node leaves /v1/nodes", { timeout: 150000 }, async () => {
  const { page } = browser;
  const before = await stats(page);
  assert.equal(before.state, "connected", "the first test left the page connected");
  const oldID = before.session.id;
  const crashed = placedOn(oldID);
  const other = NODE_IDS.find((id) => id !== crashed);
  assert.ok(crashed && other, `session ${oldID} placed on ${crashed}`);
  await fleetUntil((f) => f.some((n) => n.id === other && n.accepting), `the other node ${other} takes offers`, 10000);

  // The page records, every 20 ms, its state (with the peer connection's
  // and the message shown) at each change and when a frame is displayed
  // again after the session dropped; times in ms since the kill.
  await page.evaluate(() => {
    const rec = { states: [], frameAgainAt: 0, t0: 0 };
    window.__crash = rec;
    let last = "", dropped = false, shown = 0;
    rec.timer = setInterval(() => {
      if (!rec.t0) return;
      const s = window.holocast.stats(), pc = window.holocast.app.conn?.pc, at = Date.now() - rec.t0;
      const message = document.getElementById("message").textContent;
      const k = [s.state, pc?.connectionState ?? "-", pc?.iceConnectionState ?? "-", message].join("|");
      if (k !== last) { rec.states.push({ at, state: s.state, pc: pc ? `${pc.connectionState}/${pc.iceConnectionState}` : "-", message }); last = k; }
      if (s.state !== "connected" && !dropped) { dropped = true; shown = s.framesDisplayed; }
      if (dropped && !rec.frameAgainAt && s.framesDisplayed > shown) rec.frameAgainAt = at;
    }, 20);
  });

  const killedAt = Date.now();
  await page.evaluate((t) => { window.__crash.t0 = t; }, killedAt);
  await nodes[NODE_IDS.indexOf(crashed)].kill();

  // The node's heartbeats stop: it leaves /v1/nodes within 5 s.
  await fleetUntil((f) => !f.some((n) => n.id === crashed), `crashed node ${crashed} leaves /v1/nodes`, 5000);
  const goneMs = Date.now() - killedAt;

  // The page notices, reconnects by itself and lands on the other node.
  await waitFor(page, (id) => { const s = window.holocast.stats(); return s.state === "connected" && s.session && s.session.id !== id; }, oldID,
    { what: "automatic reconnect with a new session", timeout: 90000 });
  const shown = (await stats(page)).framesDisplayed;
  await waitFor(page, (n) => window.holocast.stats().framesDisplayed >= n + 10, shown, { what: "10 more frames displayed after reconnecting", timeout: 30000 });
  const after = await stats(page);
  const rec = await page.evaluate(() => { clearInterval(window.__crash.timer); return window.__crash; });
  const trace = rec.states.map((s) => `${s.at} ms ${s.state} (pc ${s.pc})${s.message ? ": " + s.message : ""}`).join("\n  ");
  const drop = rec.states.find((s) => s.state === "reconnecting");
  assert.ok(drop, `the page went to reconnecting:\n  ${trace}`);
  // One of the client's own verdicts on a dead session (liveness.ts: silence;
  // connection.ts: ICE disconnected for 3 s, failed, or the control channel closed).
  assert.match(drop.message, /^Connection lost \((nothing from the render node for [\d.]+ s|connection lost|connection failed|control channel closed)\); retrying in/);
  assert.equal(rec.states.at(-1).state, "connected", `states after the kill:\n  ${trace}`);
  assert.notEqual(after.session.id, oldID);
  assert.equal(placedOn(after.session.id), other, `the new session ${after.session.id} is on the other node`);
  await fleetUntil((f) => f.find((x) => x.id === other)?.sessions === 1, `node ${other} holds the new session`, 10000);
  assert.ok(rec.frameAgainAt > 0, "a frame displayed again after the drop");
  // The dead connection's failures (ICE, the DELETE of the old session
  // through the gateway, answered 404 or 5xx) show in no page error or
  // CSP report: nothing is allowed here.
  assert.deepEqual(browser.problems, []);
  const load = loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`crash of ${crashed}: gone from /v1/nodes ${goneMs} ms after the kill; page reconnecting after ${drop.at} ms; ` +
    `first frame again (from ${other}) after ${rec.frameAgainAt} ms; load average ${load}\n  ${trace}`);
});
