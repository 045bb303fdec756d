// The browser client takes the node's STUN/TURN servers (WHEP Link
// rel="ice-server" headers, answered to an OPTIONS with the token) into
// its RTCPeerConnection before it makes the offer, with the TURN REST
// credentials the node minted from --turn-secret.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { launch, startNode, stats, waitFor } from "./harness.mjs";

// Nothing answers on these: the node and the browser gather a little
// longer, and connect over their host candidates.
const STUN = "stun:127.0.0.1:9";
const TURN = "turn:127.0.0.1:9?transport=udp";
const SECRET = "turn-secret-for-the-e2e-test";

let node, browser;
before(async () => {
  node = await startNode(["--ice-server", STUN, "--ice-server", TURN, "--turn-secret", SECRET, "--turn-ttl", "1h"]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await node?.stop();
});

test("the web client configures its peer connection with the node's ice servers", { timeout: 120000 }, async () => {
  // What the node answers, as the client sees it.
  const resp = await fetch(new URL("v1/sessions", node.url), { method: "OPTIONS", headers: { Authorization: `Bearer ${node.token}` } });
  assert.equal(resp.status, 204);
  const link = resp.headers.get("link") ?? "";
  const m = /<turn:[^>]*>; rel="ice-server"; username="([^"]*)"; credential="([^"]*)"; credential-type="password"/.exec(link);
  assert.ok(link.includes(`<${STUN}>; rel="ice-server"`) && m, `Link: ${link}`);
  assert.equal(m[2], createHmac("sha1", SECRET).update(m[1]).digest("base64"), "credential = base64(HMAC-SHA1(secret, username))");
  const expiry = Number(m[1].split(":")[0]);
  assert.ok(Math.abs(expiry - (Date.now() / 1000 + 3600)) < 120, `username ${m[1]} expires in an hour`);
  const preflight = await fetch(new URL("v1/sessions", node.url), { method: "OPTIONS" });
  assert.equal(preflight.headers.get("link"), null, "no ice servers without the token");

  const { page } = browser;
  await page.goto(node.page());
  await waitFor(page, () => window.holocast.stats().framesDecoded >= 10, null, { what: "10 decoded frames", timeout: 90000 });
  const s = await stats(page);
  assert.equal(s.iceServers.length, 2, JSON.stringify(s.iceServers));
  assert.deepEqual(s.iceServers[0], { urls: [STUN] });
  assert.deepEqual(s.iceServers[1].urls, [TURN]);
  assert.match(s.iceServers[1].username, /^\d+:holocast$/, "the TURN username the node minted");
  assert.deepEqual(browser.problems, []);
});
