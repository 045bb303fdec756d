// The browser client through a fleet: the page served by holocast-gateway
// asks the gateway for its STUN/TURN servers, posts its offer there, the
// gateway places the session on a render node over a real NATS server,
// and the page plays that node's frames (media flow between browser and
// node directly).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, startGateway, startNATS, startNode, stats, waitFor } from "./harness.mjs";

// Nothing answers on this: the browser gathers a little longer and
// connects over its host candidates.
const STUN = "stun:127.0.0.1:9";
const NODE_ID = "web-e2e";

let nats, node, gateway, browser;
before(async () => {
  nats = await startNATS();
  node = await startNode(["--nats", nats.url, "--node-id", NODE_ID, "--max-sessions", "2"]);
  gateway = await startGateway(nats.url, ["--ice-server", STUN]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await gateway?.stop();
  await node?.stop();
  await nats?.stop();
});

/** The fleet as the gateway lists it. */
async function fleet() {
  const resp = await fetch(new URL("v1/nodes", gateway.url), { headers: { Authorization: `Bearer ${gateway.token}` } });
  assert.equal(resp.status, 200);
  return (await resp.json()).nodes;
}

test("the page served by the gateway places a session on a node and plays its frames", { timeout: 150000 }, async () => {
  const deadline = Date.now() + 30000;
  while (!(await fleet()).some((n) => n.id === NODE_ID && n.accepting)) {
    assert.ok(Date.now() < deadline, "the node never showed up accepting at the gateway");
    await new Promise((r) => setTimeout(r, 200));
  }
  const { page } = browser;
  await page.goto(gateway.page());
  await waitFor(page, () => window.holocast.stats().framesDecoded >= 10, null, { what: "10 decoded frames through the gateway", timeout: 90000 });
  const s = await stats(page);
  assert.equal(s.state, "connected");
  assert.deepEqual(s.iceServers, [{ urls: [STUN] }], "the gateway's own ICE servers, from its OPTIONS answer");
  assert.match(gateway.log(), new RegExp(`msg="session placed" .*node_id=${NODE_ID} `));
  let n;
  const until = Date.now() + 10000;
  do {
    n = (await fleet()).find((x) => x.id === NODE_ID);
    if (n?.sessions === 1) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < until);
  assert.equal(n?.sessions, 1, "the node holds the page's session");
  assert.deepEqual(browser.problems, []);
});
