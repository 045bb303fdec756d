import { test } from "node:test";
import assert from "node:assert/strict";
import { Liveness, MAX_CHECK_GAP_MS, SILENCE_MS } from "../../src/liveness";

/** A Liveness on a hand-driven clock, checked every second as the page does. */
function rig(silenceMs = SILENCE_MS) {
  let t = 1000;
  const l = new Liveness(() => t, silenceMs);
  return {
    l,
    /** Advances the clock by ms in 1 s checks (visible unless told); returns the first time (since the call) a check said dead, or -1. */
    run(ms: number, { visible = true, hear = false } = {}): number {
      const from = t;
      for (let left = ms; left > 0; left -= 1000) {
        t += Math.min(1000, left);
        if (hear) l.heard();
        if (l.check(visible)) return t - from;
      }
      return -1;
    },
    jump(ms: number) { t += ms; },
  };
}

test("a session that keeps talking is never given up", () => {
  const r = rig();
  r.l.start();
  assert.equal(r.run(60000, { hear: true }), -1);
});

test("a silent node is given up once the silence reaches the threshold", () => {
  const r = rig();
  r.l.start();
  assert.equal(r.run(10000), SILENCE_MS, "dead at the first check 4 s after the last word");
  const s = rig();
  s.l.start();
  s.run(5000, { hear: true });
  assert.equal(s.run(10000), SILENCE_MS, "the clock runs from the last thing heard");
});

test("a hiccup shorter than the threshold is not a dead session", () => {
  const r = rig();
  r.l.start();
  for (let i = 0; i < 20; i++) {
    assert.equal(r.run(SILENCE_MS - 1000), -1, `hiccup ${i}`);
    r.l.heard();
  }
});

test("time hidden does not count, nor does a page that did not run", () => {
  const r = rig();
  r.l.start();
  assert.equal(r.run(30000, { visible: false }), -1, "hidden: never judged");
  assert.equal(r.run(SILENCE_MS - 1000), -1, "visible again: the clock runs from the last hidden check...");
  assert.equal(r.run(2000), 1000, "...and then a silent node is given up");

  const f = rig();
  f.l.start();
  f.run(2000);
  f.jump(MAX_CHECK_GAP_MS + 1); // a frozen page: no checks for a while
  assert.equal(f.l.check(true), false, "the page's own pause is not the node's silence");
  assert.equal(f.run(10000), SILENCE_MS, "then the clock runs again");
});

test("no verdict before start or after stop", () => {
  const r = rig();
  assert.equal(r.run(10000), -1, "before start");
  r.l.start();
  r.l.stop();
  assert.equal(r.run(10000), -1, "after stop");
  r.l.start();
  assert.equal(r.run(10000), SILENCE_MS, "a new session starts its own clock");
});
