// Frame ↔ pose matching: FrameInfo messages (control channel) keyed by RTP
// timestamp, looked up when requestVideoFrameCallback reports a displayed
// frame, plus rolling latency percentiles.

/** The parts of holocast.v1.FrameInfo the client uses. */
export interface FrameInfoLike {
  rtpTimestamp: number;
  frameId: bigint | number;
  poseSeq: bigint | number;
  poseSampleTimeUs: bigint | number;
  renderedOrientation?: { x: number; y: number; z: number; w: number };
}

/**
 * FrameInfoStore keeps the last `capacity` FrameInfos by RTP timestamp.
 * Either side may come first (SCTP and RTP are separate paths); a frame whose
 * info has not arrived yet is matched later by `take` on a re-query.
 */
export class FrameInfoStore<T extends FrameInfoLike = FrameInfoLike> {
  private byTs = new Map<number, T>();
  private order: number[] = [];
  constructor(private capacity = 256) {}

  add(info: T): void {
    const ts = info.rtpTimestamp >>> 0;
    if (!this.byTs.has(ts)) this.order.push(ts);
    this.byTs.set(ts, info);
    while (this.order.length > this.capacity) {
      const old = this.order.shift()!;
      this.byTs.delete(old);
    }
  }

  /** Info of the frame with this RTP timestamp, if it has arrived. */
  get(rtpTimestamp: number): T | undefined {
    return this.byTs.get(rtpTimestamp >>> 0);
  }

  /**
   * Best info for a displayed frame: the exact match, else (when the browser
   * gives no RTP timestamp) the newest info at or before `fallbackNewest`.
   */
  match(rtpTimestamp: number | undefined): { info: T; exact: boolean } | undefined {
    if (rtpTimestamp !== undefined) {
      const i = this.get(rtpTimestamp);
      return i ? { info: i, exact: true } : undefined;
    }
    const last = this.order[this.order.length - 1];
    const i = last === undefined ? undefined : this.byTs.get(last);
    return i ? { info: i, exact: false } : undefined;
  }

  get size(): number { return this.order.length; }

  clear(): void { this.byTs.clear(); this.order = []; }
}

/** Rolling window of samples with percentiles. */
export class Percentiles {
  private buf: number[] = [];
  private next = 0;
  count = 0;
  constructor(private capacity = 600) {}

  add(v: number): void {
    if (!Number.isFinite(v)) return;
    if (this.buf.length < this.capacity) this.buf.push(v);
    else { this.buf[this.next] = v; this.next = (this.next + 1) % this.capacity; }
    this.count++;
  }

  /** q in [0,1]; nearest-rank on the window; NaN when empty. */
  quantile(q: number): number {
    if (this.buf.length === 0) return NaN;
    const s = [...this.buf].sort((a, b) => a - b);
    const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
    return s[i];
  }

  clear(): void { this.buf = []; this.next = 0; this.count = 0; }
}

/**
 * PoseLog remembers the recently sent poses by sequence number, so that the
 * pose a frame was rendered for (FrameInfo.pose_seq) can be compared with the
 * pose actually sent (prediction error).
 */
export class PoseLog<T> {
  private m = new Map<number, T>();
  private order: number[] = [];
  constructor(private capacity = 512) {}
  add(seq: number, v: T): void {
    this.m.set(seq, v); this.order.push(seq);
    while (this.order.length > this.capacity) this.m.delete(this.order.shift()!);
  }
  get(seq: number): T | undefined { return this.m.get(seq); }
  /** Newest entry sampled at or before time t, by a linear scan from the end. */
  before<K extends { timeUs: number }>(this: PoseLog<T & K>, tUs: number): (T & K) | undefined {
    for (let i = this.order.length - 1; i >= 0; i--) {
      const v = this.m.get(this.order[i])!;
      if (v.timeUs <= tUs) return v;
    }
    return undefined;
  }
  clear(): void { this.m.clear(); this.order = []; }
}

/** Reconnect delay: exponential backoff with ±20% jitter, capped. */
export function backoffMs(attempt: number, baseMs = 500, maxMs = 10000, rand = Math.random): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(d * (0.8 + 0.4 * rand()));
}
