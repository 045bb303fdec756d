import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffMs, FrameInfoStore, Percentiles, PoseLog } from "../../src/matcher";
import { usableH264 } from "../../src/connection";
import { snapRate } from "../../src/app";

const info = (ts: number, id: number) => ({ rtpTimestamp: ts, frameId: BigInt(id), poseSeq: BigInt(id), poseSampleTimeUs: BigInt(id * 1000) });

test("frame infos are found by RTP timestamp, including past 2^31", () => {
  const s = new FrameInfoStore();
  s.add(info(3000, 1));
  s.add(info(0xfffff000, 2));
  s.add(info(1234, 3));
  assert.equal(s.get(3000)?.frameId, 1n);
  assert.equal(s.get(0xfffff000)?.frameId, 2n);
  assert.equal(s.get(-4096)?.frameId, 2n, "same 32 bits, signed view");
  assert.equal(s.match(1234)?.exact, true);
  assert.equal(s.match(999), undefined, "unknown timestamp: no match, not a wrong one");
});

test("without an RTP timestamp the newest info is used, marked inexact", () => {
  const s = new FrameInfoStore();
  assert.equal(s.match(undefined), undefined);
  s.add(info(10, 1)); s.add(info(20, 2));
  const m = s.match(undefined)!;
  assert.equal(m.exact, false);
  assert.equal(m.info.frameId, 2n);
});

test("the store forgets the oldest beyond its capacity", () => {
  const s = new FrameInfoStore(3);
  for (let i = 1; i <= 5; i++) s.add(info(i * 3000, i));
  assert.equal(s.size, 3);
  assert.equal(s.get(3000), undefined);
  assert.equal(s.get(6000), undefined);
  assert.equal(s.get(15000)?.frameId, 5n);
  // A re-sent info replaces, not duplicates.
  s.add(info(15000, 6));
  assert.equal(s.size, 3);
  assert.equal(s.get(15000)?.frameId, 6n);
});

test("either order: a frame displayed before its info matches once it arrives", () => {
  const s = new FrameInfoStore();
  assert.equal(s.match(9000), undefined);
  s.add(info(9000, 7));
  assert.equal(s.match(9000)?.info.frameId, 7n);
});

test("percentiles on a rolling window", () => {
  const p = new Percentiles(100);
  assert.ok(Number.isNaN(p.quantile(0.5)));
  for (let i = 1; i <= 100; i++) p.add(i);
  assert.equal(p.quantile(0.5), 50);
  assert.equal(p.quantile(0.95), 95);
  for (let i = 0; i < 100; i++) p.add(1000);
  assert.equal(p.quantile(0.5), 1000, "old samples roll out");
  p.add(NaN);
  assert.equal(p.count, 200);
});

test("pose log finds the newest pose sampled before a time", () => {
  const l = new PoseLog<{ seq: number; timeUs: number }>(4);
  for (let i = 1; i <= 6; i++) l.add(i, { seq: i, timeUs: i * 100 });
  assert.equal(l.before(450)?.seq, 4);
  assert.equal(l.before(100), undefined, "forgotten");
  assert.equal(l.get(6)?.timeUs, 600);
});

test("reconnect backoff doubles, is capped and jittered ±20%", () => {
  assert.equal(backoffMs(0, 500, 10000, () => 0.5), 500);
  assert.equal(backoffMs(3, 500, 10000, () => 0.5), 4000);
  assert.equal(backoffMs(20, 500, 10000, () => 0.5), 10000);
  assert.equal(backoffMs(1, 500, 10000, () => 0), 800);
  assert.equal(backoffMs(1, 500, 10000, () => 1), 1200);
});

test("H.264 codecs usable with the node: packetization-mode 1, CB/B/Main", () => {
  const c = (fmtp: string, mime = "video/H264") => ({ mimeType: mime, clockRate: 90000, sdpFmtpLine: fmtp });
  const got = usableH264([
    c("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
    c("level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"),
    c("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032"),
    c("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"),
    c("", "video/VP8"),
  ]);
  assert.deepEqual(got.map((x) => /profile-level-id=(\w+)/.exec(x.sdpFmtpLine!)![1]), ["42e01f", "4d001f"]);
  assert.deepEqual(usableH264(undefined), []);
});

test("display rates snap to common values", () => {
  assert.equal(snapRate(59.3), 60);
  assert.equal(snapRate(88), 90);
  assert.equal(snapRate(71), 72);
});
