// WebRTC connection to a render node: WHEP-style signaling (an OPTIONS
// that names the node's STUN/TURN servers, one POST of a complete offer,
// DELETE on teardown, all with the node's bearer token), the "pose" and
// "control" data channels and the H.264 video track.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ControlMessageSchema, PoseSchema, type ControlMessage, type Pose } from "./gen/holocast_pb";
import { parseIceServerLinks } from "./iceservers";

export const SESSIONS_PATH = "v1/sessions";
/** The node's list of scenes (JSON), with the same token as sessions. */
export const SCENES_PATH = "v1/scenes";
/** The H.264 profiles the node answers, all packetization-mode 1. */
export const H264_PROFILES = ["42e01f", "42001f", "4d001f"];

export class ClientError extends Error {
  constructor(public kind: "codec" | "signaling" | "unauthorized" | "network" | "secure-context" | "unsupported", message: string) {
    super(message);
  }
}

/** H.264 codecs this browser can receive that the node can send. */
export function usableH264(codecs: RTCRtpCodec[] | undefined): RTCRtpCodec[] {
  if (!codecs) return [];
  return codecs.filter((c) => {
    if (c.mimeType.toLowerCase() !== "video/h264") return false;
    const f = (c.sdpFmtpLine ?? "").toLowerCase();
    if (!/packetization-mode=1/.test(f)) return false;
    const m = /profile-level-id=([0-9a-f]{6})/.exec(f);
    return !!m && H264_PROFILES.some((p) => p.slice(0, 4) === m[1].slice(0, 4));
  });
}

export interface ConnectionEvents {
  onTrack(stream: MediaStream): void;
  onControl(msg: ControlMessage): void;
  onControlOpen(): void;
  /** Called once when the connection fails or closes after being up. */
  onDrop(reason: string): void;
}

export class Connection {
  pc: RTCPeerConnection | null = null;
  pose: RTCDataChannel | null = null;
  control: RTCDataChannel | null = null;
  private location: string | null = null;
  private closed = false;
  private dropped = false;
  private disconnectTimer = 0;
  bytesSent = 0;

  /** token: the node's access token (or a JWT), sent as a bearer token; null sends none. */
  constructor(private base: URL, private ev: ConnectionEvents, private token: string | null = null) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { ...extra, Authorization: `Bearer ${this.token}` } : extra;
  }

  async open(signal?: AbortSignal): Promise<void> {
    if (typeof RTCPeerConnection === "undefined") throw new ClientError("unsupported", "This browser has no WebRTC (RTCPeerConnection).");
    const caps = typeof RTCRtpReceiver !== "undefined" && RTCRtpReceiver.getCapabilities ? RTCRtpReceiver.getCapabilities("video") : null;
    const h264 = caps ? usableH264(caps.codecs) : null;
    if (h264 && h264.length === 0) {
      throw new ClientError("codec", "This browser cannot decode H.264 (Constrained Baseline/Main, packetization-mode 1), which the render node sends.");
    }
    const url = new URL(SESSIONS_PATH, this.base);
    const iceServers = await this.iceServers(url, signal);
    if (this.closed) throw new ClientError("network", "closed");
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers });
    this.pc = pc;
    const tr = pc.addTransceiver("video", { direction: "recvonly" });
    if (h264 && tr.setCodecPreferences) {
      // Keep RTX (RFC 4588) in the list: without it the browser offers
      // none, and the node resends NACKed packets on the media SSRC.
      const rtx = (caps?.codecs ?? []).filter((c) => c.mimeType.toLowerCase() === "video/rtx");
      try { tr.setCodecPreferences([...h264, ...rtx]); } catch { /* keep the browser's list */ }
    }
    this.pose = pc.createDataChannel("pose", { ordered: false, maxRetransmits: 0 });
    this.pose.binaryType = "arraybuffer";
    const control = pc.createDataChannel("control");
    control.binaryType = "arraybuffer";
    this.control = control;
    control.onopen = () => this.ev.onControlOpen();
    control.onmessage = (e) => {
      if (!(e.data instanceof ArrayBuffer)) return;
      let m: ControlMessage;
      try { m = fromBinary(ControlMessageSchema, new Uint8Array(e.data)); } catch { return; }
      this.ev.onControl(m);
    };
    control.onclose = () => this.drop("control channel closed");
    pc.ontrack = (e) => this.ev.onTrack(e.streams[0] ?? new MediaStream([e.track]));
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      if (s === "failed" || s === "closed") this.drop("connection " + s);
      else if (s === "disconnected") {
        // ICE may recover on its own; give it a moment.
        clearTimeout(this.disconnectTimer);
        this.disconnectTimer = window.setTimeout(() => { if (pc.connectionState === "disconnected") this.drop("connection lost"); }, 3000);
      } else if (s === "connected") clearTimeout(this.disconnectTimer);
    };

    await pc.setLocalDescription(await pc.createOffer());
    await waitIceGathering(pc, 3000);
    if (this.closed) throw new ClientError("network", "closed");
    let resp: Response;
    // The scene the session starts with: the page's ?scene=NAME, if any
    // (GET /v1/scenes lists them; without it the node's default).
    const scene = new URLSearchParams(this.base.search || location.search).get("scene");
    if (scene) url.searchParams.set("scene", scene);
    try {
      resp = await fetch(url, { method: "POST", headers: this.headers({ "Content-Type": "application/sdp" }), body: pc.localDescription!.sdp, signal });
    } catch (err) {
      throw new ClientError("network", `Cannot reach the render node at ${url.origin}: ${(err as Error).message}`);
    }
    const text = await resp.text();
    if (resp.status === 401) throw new ClientError("unauthorized", unauthorizedMessage(this.token !== null, text.trim()));
    if (resp.status !== 201) {
      throw new ClientError("signaling", `The render node refused the session (HTTP ${resp.status}): ${text.trim() || resp.statusText}`);
    }
    const loc = resp.headers.get("Location");
    this.location = loc ? new URL(loc, url).toString() : null;
    if (this.closed) { this.close(); throw new ClientError("network", "closed"); }
    await pc.setRemoteDescription({ type: "answer", sdp: text });
  }

  /**
   * Asks the node which STUN/TURN servers to use: an OPTIONS on the
   * sessions URL with the token, whose Link rel="ice-server" headers name
   * them (with TURN credentials). A node that cannot be asked, or names
   * none, leaves the connection with host candidates; the POST reports a
   * node that cannot be reached.
   */
  private async iceServers(url: URL, signal?: AbortSignal): Promise<RTCIceServer[]> {
    try {
      const resp = await fetch(url, { method: "OPTIONS", headers: this.headers(), signal });
      if (!resp.ok) return [];
      return parseIceServerLinks(resp.headers.get("Link"));
    } catch (err) {
      console.warn("holocast: no ICE servers from the node:", (err as Error).message);
      return [];
    }
  }

  private drop(reason: string): void {
    if (this.closed || this.dropped) return;
    this.dropped = true;
    this.ev.onDrop(reason);
  }

  sendPose(p: Pose): boolean {
    const ch = this.pose;
    if (!ch || ch.readyState !== "open") return false;
    // Never queue stale poses behind a congested channel.
    if (ch.bufferedAmount > 16 * 1024) return false;
    const b = toBinary(PoseSchema, p);
    ch.send(b);
    this.bytesSent += b.byteLength;
    return true;
  }

  sendControl(m: ControlMessage): boolean {
    const ch = this.control;
    if (!ch || ch.readyState !== "open") return false;
    ch.send(toBinary(ControlMessageSchema, m));
    return true;
  }

  get controlOpen(): boolean { return this.control?.readyState === "open"; }

  /** Ends the session: DELETE at the node (survives page unload) and close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.disconnectTimer);
    if (this.location) {
      fetch(this.location, { method: "DELETE", keepalive: true, headers: this.headers() }).catch(() => {});
      this.location = null;
    }
    for (const ch of [this.pose, this.control]) { if (ch) { ch.onclose = null; ch.onmessage = null; } }
    if (this.pc) { this.pc.onconnectionstatechange = null; this.pc.ontrack = null; this.pc.close(); }
    this.pc = null; this.pose = null; this.control = null;
  }
}

/** What to tell the user when the node answers 401. */
export function unauthorizedMessage(hadToken: boolean, nodeSays: string): string {
  const why = nodeSays ? ` (${nodeSays.replace(/^unauthorized:\s*/i, "")})` : "";
  return hadToken
    ? `Unauthorized: the render node refused this page's access token${why}. Open the URL the node printed at start again (it ends in #token=…).`
    : `Unauthorized: this render node needs an access token. Open the URL the node printed at start (it ends in #token=…).`;
}

function waitIceGathering(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, timeoutMs);
    function done() { clearTimeout(t); pc.removeEventListener("icegatheringstatechange", check); resolve(); }
    function check() { if (pc.iceGatheringState === "complete") done(); }
    pc.addEventListener("icegatheringstatechange", check);
  });
}

export function newPose(init: Parameters<typeof create<typeof PoseSchema>>[1]): Pose {
  return create(PoseSchema, init);
}
export function newControl(init: Parameters<typeof create<typeof ControlMessageSchema>>[1]): ControlMessage {
  return create(ControlMessageSchema, init);
}
