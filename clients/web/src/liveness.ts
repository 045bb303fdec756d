// Dead-session detection: a render node that crashes, or vanishes from the
// network, sends nothing more, but the browser's RTCPeerConnection may take
// long to say so (Chromium reported "disconnected" 7.7 s after the node's
// process was SIGKILLed, on loopback; with the connection's 3 s grace for
// ICE to recover the page gave the session up 11 s after the kill).
// The client hears from a live node many times a second (a FrameInfo per
// frame and a displayed video frame, the answer to its Ping every second,
// the node's own Ping every second), so a silence of a few seconds means
// the session is dead.

/**
 * How long a connected session may stay silent (no control message, no
 * video frame displayed) before the client gives it up and reconnects:
 * 4 s. A live node answers the client's once-a-second Ping from its
 * control handler, apart from its frame loop, so frames that pause (a
 * degradation ladder step rebuilding the encoder, a slow render) do not
 * silence it; a Wi-Fi hiccup or roam of a second or two stays below it.
 * Checked once a second, so a dead node is given up 4–5 s after the last
 * thing heard from it.
 */
export const SILENCE_MS = 4000;

/**
 * A gap between two checks longer than this means the page itself did not
 * run (a long task, a frozen or throttled tab): the silence it saw is its
 * own, not the node's, so the clock starts again instead of dropping.
 */
export const MAX_CHECK_GAP_MS = 2500;

/**
 * Liveness decides when a connected session is dead: nothing heard from
 * the node for silenceMs while the page was running and visible. Pure
 * logic with an injected clock (ms); the caller reports what it hears
 * (heard) and asks about once a second (check).
 */
export class Liveness {
  private lastHeard = 0;
  private lastCheck = 0;
  private running = false;

  constructor(private now: () => number, readonly silenceMs = SILENCE_MS, readonly maxCheckGapMs = MAX_CHECK_GAP_MS) {}

  /** The session is up (its control channel opened): the clock starts. */
  start(): void {
    this.running = true;
    this.lastHeard = this.now();
    this.lastCheck = 0;
  }

  /** The session ended: check answers false until the next start. */
  stop(): void { this.running = false; }

  /** Something arrived from the node. */
  heard(): void { this.lastHeard = this.now(); }

  /**
   * Whether the session is dead: true once the node has been silent for
   * silenceMs of visible, running page time. Time while hidden, and a gap
   * between checks over maxCheckGapMs, start the clock again.
   */
  check(visible: boolean): boolean {
    if (!this.running) return false;
    const t = this.now();
    const gap = this.lastCheck ? t - this.lastCheck : 0;
    this.lastCheck = t;
    if (!visible || gap > this.maxCheckGapMs) {
      this.lastHeard = Math.max(this.lastHeard, t);
      return false;
    }
    return t - this.lastHeard >= this.silenceMs;
  }

  /** Milliseconds since the node was last heard (for messages). */
  silentMs(): number { return this.now() - this.lastHeard; }
}
