// The Holocast browser client: modes (flat, Cardboard, WebXR), pose
// sampling, frame ↔ pose matching, reprojection, HUD, stats and connection
// management with reconnect.

import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DeviceConfigSchema, FrameInfo, SessionInfo } from "./gen/holocast_pb";

type DeviceConfigInit = MessageInitShape<typeof DeviceConfigSchema>;
import { ClientError, Connection, newControl, newPose, SCENES_PATH } from "./connection";
import { Liveness } from "./liveness";
import { backoffMs, FrameInfoStore, Percentiles, PoseLog } from "./matcher";
import {
  angleBetween, conj, fovFromTangents, fromDeviceOrientation, fromYawPitch, IDENTITY, mul, fromAxisAngle,
  normalize, reprojectionMatrix, rotate, symmetricTangents, tangentsFromProjection, yawOf,
  type Quat, type Tangents, type Vec3,
} from "./math";
import { IDENTITY3, VideoRenderer, type EyeDraw } from "./renderer";
import { beginGrab, clampXf, grabTransform, IDENTITY_XF, MAX_SCALE, MIN_SCALE, xfChanged, type Grab, type HandPose, type ModelXf } from "./xrinput";

export type Mode = "flat" | "cardboard" | "immersive-vr" | "immersive-ar";
export type ModeChoice = Mode | "auto";

/** The node's default optics: 45° vertical half-angle, horizontal from the aspect. */
const NODE_HALF_VFOV = Math.PI / 4;
/** Cardboard viewer: visible half-angle on the screen and lens distortion. */
const CARDBOARD_HALF_VFOV = (38 * Math.PI) / 180;
const CARDBOARD_K: [number, number] = [0.34, 0.55];
const DEFAULT_IPD = 0.063;
const HEAD_HEIGHT = 1.6;
const TURN_RATE = Math.PI / 3; // rad/s while an arrow key is held
const DRAG_RATE = 0.005; // rad per CSS pixel

interface SentPose { seq: number; timeUs: number; q: Quat }
interface ShownFrame { rendered: Quat; info: FrameInfo | null }

export interface Stats {
  mode: Mode;
  state: string;
  framesDecoded: number;
  framesReceived: number;
  framesDisplayed: number;
  framesMatched: number;
  posesSent: number;
  poseToFrameMs: { p50: number; p95: number };
  motionToPhotonMs: { p50: number; p95: number };
  predictionErrorDeg: { p50: number; p95: number };
  fpsReceived: number;
  fpsDisplayed: number;
  bitrateKbps: number;
  rttMs: number;
  reprojection: boolean;
  session: { id: string; width: number; height: number; fps: number; encoder: string; renderer: string; predictor: string } | null;
  lastPose: { seq: number; orientation: Quat; position: Vec3 } | null;
  /** targetDisplayMs: the display time (performance.now() ms) the node aimed the frame at; 0 when not aimed. */
  lastFrameInfo: { frameId: number; poseSeq: number; horizonMs: number; targetDisplayMs: number; renderedOrientation: Quat | null; scene: string; modelTransformSeq: number; triangles: number } | null;
  /** Last motion-to-photon value reported to the node (its prediction horizon). */
  reportedMotionToPhotonMs: number;
  /** HUD toggled on inside an XR session (select gesture). */
  hudInXR: boolean;
  /** DisplayTiming messages sent to the node. */
  displayTimingsSent: number;
  nodeTimingsMs: { poseAge: number; queue: number; render: number; convert: number; encode: number; send: number } | null;
  error: string | null;
  /** The STUN/TURN servers of the peer connection (from the node's ice-server links), without credentials. */
  iceServers: { urls: string[]; username?: string }[];
  /** The session's scene (SessionInfo) and the model transform last sent. */
  scene: string;
  model: ModelXf;
  /** XR grabs begun (squeeze or pinch) and input sources holding the model now. */
  grabsStarted: number;
  grabbing: number;
}

export class App {
  readonly video: HTMLVideoElement;
  readonly canvas: HTMLCanvasElement;
  gl: WebGLRenderingContext | WebGL2RenderingContext | null = null;
  renderer: VideoRenderer | null = null;

  mode: Mode = "flat";
  reprojection = true;
  showBothEyes = false;
  hold = false; // debug: keep the current texture (tests of reprojection)
  posesPaused = false;

  private conn: Connection | null = null;
  private wantConnected = false;
  private attempt = 0;
  private reconnectTimer = 0;
  private state = "disconnected";
  private error: string | null = null;
  /** Gives up a connected session the node has gone silent on (liveness.ts). */
  private liveness = new Liveness(() => performance.now());

  // Head pose.
  yaw = 0;
  /**
   * The model transform sent to the node: on desktop shift-drag turns the
   * model and the wheel scales it; in XR a squeezed controller or a
   * pinching hand grabs it (xrinput.ts).
   */
  model: ModelXf = clampXf(IDENTITY_XF);
  private modelSeq = 0;
  private modelSent: ModelXf = clampXf(IDENTITY_XF);
  /** XR input sources holding the model, in the order they grabbed it. */
  private grabbing: XRInputSource[] = [];
  private grab: Grab | null = null;
  /** Whether the current grab has moved the model (then its select does not toggle the HUD). */
  private grabMoved = false;
  private grabsStarted = 0;
  /** Scene of the session, from SessionInfo. */
  scene = "";
  pitch = 0;
  private keys = new Set<string>();
  private head: Quat = { ...IDENTITY };
  private headPos: Vec3 = { x: 0, y: HEAD_HEIGHT, z: 0 };
  private cardboardRaw: Quat | null = null;
  private cardboardYawOffset: number | null = null;
  private lastOrientationEvent = 0;
  private seq = 0;
  private poseLog = new PoseLog<SentPose>();
  private lastPose: SentPose | null = null;
  private posesSent = 0;

  // Frames.
  private infos = new FrameInfoStore<FrameInfo>();
  private shown: ShownFrame | null = null;
  private newFrame = false;
  private lastVfcAt = 0;
  private framesDisplayed = 0;
  private framesMatched = 0;
  private lastInfo: FrameInfo | null = null;
  private poseToFrame = new Percentiles(300);
  private mtp = new Percentiles(300);
  /** Recent motion-to-photon (≈ the last two seconds) for ClientReport. */
  private mtpRecent = new Percentiles(60);
  private displayDelay = new Percentiles(300);
  private predErr = new Percentiles(300);
  private session: SessionInfo | null = null;
  private configKey = "";
  private source: [Tangents, Tangents] = [symmetricTangents(NODE_HALF_VFOV, 1), symmetricTangents(NODE_HALF_VFOV, 1)];
  private refreshHz = 60;
  private rafFrames = 0;
  /** Next display time (performance.now() ms) from the newest animation or XR frame; 0 before one. */
  private nextDisplayMs = 0;

  // Transport stats.
  private inbound = { framesDecoded: 0, framesReceived: 0, bytesReceived: 0, at: 0 };
  private rates = { fpsReceived: 0, fpsDisplayed: 0, bitrateKbps: 0 };
  private lastDisplayedCount = 0;
  private rttMs = NaN;
  private pingId = 0;
  private reportedMtpUs = 0;
  private displayTimingsSent = 0;
  hudInXR = false;

  // XR.
  private xrSession: XRSession | null = null;
  private xrRef: XRReferenceSpace | null = null;
  private wakeLock: { release(): Promise<void> } | null = null;

  private snapshotWaiters: Array<(s: ReturnType<VideoRenderer["snapshot"]>) => void> = [];
  private rafHandle = 0;
  private lastFrameTime = 0;
  onHud: (() => void) | null = null;
  /** The node's access token, sent on every session request (see token.ts). */
  token: string | null = null;
  onMessage: (text: string | null, kind?: string) => void = () => {};

  constructor(private base: URL, canvas: HTMLCanvasElement, video: HTMLVideoElement) {
    this.canvas = canvas;
    this.video = video;
  }

  /** Sets up WebGL and input; returns an error text when the page cannot work. */
  init(): string | null {
    const opts = { xrCompatible: true, antialias: false, alpha: false, preserveDrawingBuffer: false, premultipliedAlpha: false } as WebGLContextAttributes;
    this.gl = (this.canvas.getContext("webgl2", opts) as WebGL2RenderingContext | null) ?? (this.canvas.getContext("webgl", opts) as WebGLRenderingContext | null);
    if (!this.gl) return "WebGL is not available in this browser, so the video cannot be drawn.";
    this.renderer = new VideoRenderer(this.gl);
    this.installInput();
    this.watchVideoFrames();
    this.rafHandle = requestAnimationFrame((t) => this.onAnimationFrame(t));
    setInterval(() => { void this.pollStats(); }, 1000);
    return null;
  }

  // ---------------------------------------------------------------- connection

  async connect(): Promise<void> {
    this.wantConnected = true;
    clearTimeout(this.reconnectTimer);
    this.teardownConnection();
    this.setState("connecting");
    const conn = new Connection(this.base, {
      onTrack: (stream) => {
        this.video.srcObject = stream;
        this.video.play().catch(() => {});
      },
      onControlOpen: () => {
        this.attempt = 0;
        this.liveness.start();
        this.setState("connected");
        this.onMessage(null);
        this.configKey = "";
      },
      onControl: (m) => this.onControl(m),
      onDrop: (reason) => {
        if (this.conn !== conn) return;
        this.teardownConnection();
        this.scheduleReconnect(reason, true);
      },
    }, this.token);
    this.conn = conn;
    try {
      await conn.open();
    } catch (err) {
      if (this.conn !== conn) return;
      this.teardownConnection();
      const e = err as Error;
      this.error = e.message;
      const retry = !(err instanceof ClientError) || err.kind === "network" || (err.kind === "signaling" && /HTTP (429|5\d\d)/.test(e.message));
      if (retry && this.wantConnected) this.scheduleReconnect(e.message, false);
      else { this.setState("error"); this.onMessage(e.message, (err as ClientError).kind ?? "error"); }
      throw err;
    }
    this.error = null;
    // The control channel may already be open (state "connected").
    if (this.conn === conn && this.state === "connecting") this.setState("negotiated");
  }

  disconnect(): void {
    this.wantConnected = false;
    clearTimeout(this.reconnectTimer);
    this.teardownConnection();
    this.setState("disconnected");
  }

  private teardownConnection(): void {
    this.liveness.stop();
    if (this.conn) { this.conn.close(); this.conn = null; }
    this.video.srcObject = null;
    this.infos.clear();
    this.session = null;
    this.configKey = "";
  }

  private scheduleReconnect(reason: string, wasUp: boolean): void {
    if (!this.wantConnected) { this.setState("disconnected"); return; }
    const d = backoffMs(this.attempt++);
    this.setState("reconnecting");
    this.onMessage(`${wasUp ? `Connection lost (${reason})` : reason}; retrying in ${(d / 1000).toFixed(1)} s…`, "network");
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => { this.connect().catch(() => {}); }, d);
  }

  /**
   * Gives up a connected session the node has gone silent on (a crashed
   * node, a lost network: see liveness.ts) and reconnects with the
   * backoff; through a gateway the new session lands on a live node.
   */
  private checkLiveness(): void {
    if (this.state !== "connected" || !this.liveness.check(document.visibilityState === "visible")) return;
    const silent = (this.liveness.silentMs() / 1000).toFixed(1);
    this.teardownConnection();
    this.scheduleReconnect(`nothing from the render node for ${silent} s`, true);
  }

  /** Page hidden for good (navigation, tab close): end the session at once. */
  pageHide(persisted: boolean): void {
    const want = this.wantConnected;
    this.disconnect();
    this.wantConnected = persisted && want; // back-forward cache: reconnect on pageshow
    void this.xrSession?.end().catch(() => {});
  }

  pageShow(): void {
    if (this.wantConnected && !this.conn) this.connect().catch(() => {});
  }

  private setState(s: string): void { this.state = s; this.onHud?.(); }

  // ------------------------------------------------------------------ control

  private onControl(m: ReturnType<typeof newControl>): void {
    this.liveness.heard();
    switch (m.message.case) {
      case "sessionInfo": {
        const first = !this.session;
        this.session = m.message.value;
        if (this.session.scene) this.scene = this.session.scene;
        if (first) this.configKey = "";
        this.sendDeviceConfigIfChanged();
        break;
      }
      case "frameInfo": {
        const fi = m.message.value;
        this.infos.add(fi);
        this.lastInfo = fi;
        break;
      }
      case "ping":
        this.conn?.sendControl(newControl({ message: { case: "pong", value: { id: m.message.value.id, timeUs: m.message.value.timeUs } } }));
        break;
      case "pong": {
        const rtt = performance.now() - Number(m.message.value.timeUs) / 1000;
        if (rtt >= 0 && rtt < 10000) this.rttMs = rtt;
        break;
      }
      case "notice":
        this.onMessage("Render node: " + m.message.value.message, "notice");
        break;
    }
  }

  /** The per-eye optics, size and rate this device wants, for the current mode. */
  private desiredConfig(): { cfg: DeviceConfigInit; source: [Tangents, Tangents] } | null {
    const s = this.session;
    if (!s) return null;
    if (this.mode === "flat") {
      const t = symmetricTangents(NODE_HALF_VFOV, s.width / 2 / s.height);
      return { cfg: eyeConfig(t, t, { deviceName: "Flat (desktop browser)", refreshRateHz: this.refreshHz }), source: [t, t] };
    }
    if (this.mode === "cardboard") {
      const aspect = this.canvas.width / 2 / Math.max(1, this.canvas.height);
      const disp = symmetricTangents(CARDBOARD_HALF_VFOV, aspect);
      const src = distortedTangents(disp, CARDBOARD_K);
      const h = Math.min(s.height, 1080);
      const w = 2 * Math.round((h * (src.left + src.right)) / (src.up + src.down));
      return { cfg: eyeConfig(src, src, { deviceName: "Cardboard", refreshRateHz: this.refreshHz, width: widthClamp(w), height: evenClamp(h) }), source: [src, src] };
    }
    return null; // XR sends its own from the views
  }

  private sendDeviceConfigIfChanged(xr?: { cfg: DeviceConfigInit; source: [Tangents, Tangents] }): void {
    const want = xr ?? this.desiredConfig();
    if (!want || !this.conn?.controlOpen) return;
    const key = JSON.stringify(want.cfg);
    if (key === this.configKey) return;
    if (this.conn.sendControl(newControl({ message: { case: "deviceConfig", value: want.cfg } }))) {
      this.configKey = key;
      this.source = want.source;
    }
  }

  // ---------------------------------------------------------------- video frames

  private watchVideoFrames(): void {
    const v = this.video;
    if (!("requestVideoFrameCallback" in v)) return;
    const cb = (now: number, meta: VideoFrameCallbackMetadata) => {
      v.requestVideoFrameCallback(cb);
      this.onVideoFrame(now, meta);
    };
    v.requestVideoFrameCallback(cb);
  }

  /** A new frame is being presented: match it to its FrameInfo by RTP timestamp. */
  private onVideoFrame(now: number, meta: VideoFrameCallbackMetadata & { rtpTimestamp?: number; receiveTime?: number }): void {
    this.lastVfcAt = now;
    this.framesDisplayed++;
    this.liveness.heard();
    const m = this.infos.match(meta.rtpTimestamp);
    if (m?.exact) {
      this.framesMatched++;
      const sampleMs = Number(m.info.poseSampleTimeUs) / 1000;
      if (m.info.poseSeq > 0n) {
        const recv = meta.receiveTime ?? now;
        this.poseToFrame.add(recv - sampleMs);
        this.mtp.add((meta.expectedDisplayTime ?? now) - sampleMs);
        this.mtpRecent.add((meta.expectedDisplayTime ?? now) - sampleMs);
        if (meta.receiveTime !== undefined) this.displayDelay.add((meta.expectedDisplayTime ?? now) - meta.receiveTime);
        this.notePredictionError(m.info);
      }
    }
    if (this.hold) return;
    this.newFrame = true;
    this.shown = { rendered: m?.info.renderedOrientation ? normalize(m.info.renderedOrientation) : this.shown?.rendered ?? { ...IDENTITY }, info: m?.info ?? null };
    // Upload now: this callback runs for exactly this frame.
    if (this.renderer?.upload(this.video)) this.newFrame = false;
  }

  private notePredictionError(fi: FrameInfo): void {
    const t = Number(fi.predictedTimeUs);
    if (!fi.renderedOrientation || t <= 0 || t > performance.now() * 1000) return;
    const actual = this.poseLog.before(t);
    if (actual) this.predErr.add((angleBetween(actual.q, normalize(fi.renderedOrientation)) * 180) / Math.PI);
  }

  // ------------------------------------------------------------------ poses

  private sendPose(q: Quat, p: Vec3, tMs: number): void {
    if (this.posesPaused || !this.conn) return;
    const seq = ++this.seq;
    const timeUs = Math.round(tMs * 1000);
    if (this.conn.sendPose(newPose({
      seq: BigInt(seq), sampleTimeUs: BigInt(timeUs),
      orientation: { x: q.x, y: q.y, z: q.z, w: q.w }, position: { x: p.x, y: p.y, z: p.z },
    }))) {
      const e = { seq, timeUs, q };
      this.poseLog.add(seq, e);
      this.lastPose = e;
      this.posesSent++;
    }
  }

  // ------------------------------------------------------------- frame loop

  private onAnimationFrame(t: number): void {
    this.rafHandle = requestAnimationFrame((tt) => this.onAnimationFrame(tt));
    const dt = this.lastFrameTime ? Math.min(0.1, (t - this.lastFrameTime) / 1000) : 0;
    // Measure the display rate over the first frames, then keep it, so that
    // jitter does not resend DeviceConfig.
    if (dt > 0 && this.rafFrames++ < 120) this.refreshHz = 0.9 * this.refreshHz + 0.1 * Math.min(240, 1 / dt);
    this.lastFrameTime = t;
    if (this.xrSession) return; // the XR loop draws
    // t is when this frame's callbacks began (the vsync before it): the
    // frame drawn now is shown one refresh later.
    this.nextDisplayMs = t + 1000 / this.refreshHz;
    this.resizeCanvas();
    if (this.mode === "flat") {
      let turn = 0, tilt = 0;
      if (this.keys.has("ArrowLeft") || this.keys.has("a")) turn += 1;
      if (this.keys.has("ArrowRight") || this.keys.has("d")) turn -= 1;
      if (this.keys.has("ArrowUp") || this.keys.has("w")) tilt += 1;
      if (this.keys.has("ArrowDown") || this.keys.has("s")) tilt -= 1;
      this.yaw += turn * TURN_RATE * dt;
      this.pitch = clampPitch(this.pitch + tilt * TURN_RATE * dt);
      this.head = fromYawPitch(this.yaw, this.pitch);
    } else if (this.mode === "cardboard" && this.cardboardRaw) {
      if (this.cardboardYawOffset === null) this.cardboardYawOffset = -yawOf(this.cardboardRaw);
      this.head = normalize(mul(fromAxisAngle({ x: 0, y: 1, z: 0 }, this.cardboardYawOffset), this.cardboardRaw));
    }
    this.sendPose(this.head, this.headPos, performance.now());
    this.sendDeviceConfigIfChanged();
    this.composite(null, t);
  }

  /** Draws the current video frame for the current head orientation. */
  private composite(eyesOverride: EyeDraw[] | null, _t: number, clear: [number, number, number, number] = [0, 0, 0, 1], head = this.head, keyBlack = false): void {
    const r = this.renderer;
    if (!r) return;
    // Without requestVideoFrameCallback updates (old browsers, XR sessions
    // that throttle the page), upload every frame and use the newest info.
    if (!this.hold && performance.now() - this.lastVfcAt > 250 && r.upload(this.video)) {
      const m = this.infos.match(undefined);
      if (m?.info.renderedOrientation) this.shown = { rendered: normalize(m.info.renderedOrientation), info: m.info };
    }
    const rot = this.reprojection && this.shown ? reprojectionMatrix(this.shown.rendered, head) : IDENTITY3;
    const eyes = eyesOverride ?? this.flatEyes();
    r.draw(eyes, rot, clear, keyBlack);
    if (this.snapshotWaiters.length) {
      const s = r.snapshot(2);
      for (const w of this.snapshotWaiters.splice(0)) w(s);
    }
  }

  private flatEyes(): EyeDraw[] {
    const W = this.canvas.width, H = this.canvas.height;
    if (this.mode === "cardboard") {
      const half = Math.floor(W / 2);
      const disp = symmetricTangents(CARDBOARD_HALF_VFOV, half / Math.max(1, H));
      return [
        { viewport: [0, 0, half, H], eye: 0, display: disp, source: this.source[0], k: CARDBOARD_K },
        { viewport: [half, 0, half, H], eye: 1, display: disp, source: this.source[1], k: CARDBOARD_K },
      ];
    }
    const src = this.source;
    const eyeAspect = (src[0].left + src[0].right) / (src[0].up + src[0].down);
    const n = this.showBothEyes ? 2 : 1;
    let w = W / n, h = w / eyeAspect;
    if (h > H) { h = H; w = h * eyeAspect; }
    const x0 = Math.round((W - w * n) / 2), y0 = Math.round((H - h) / 2);
    const out: EyeDraw[] = [];
    for (let i = 0; i < n; i++) {
      out.push({ viewport: [x0 + Math.round(i * w), y0, Math.round(w), Math.round(h)], eye: i as 0 | 1, display: src[i], source: src[i] });
    }
    return out;
  }

  private resizeCanvas(): void {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr)), h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) { this.canvas.width = w; this.canvas.height = h; }
  }

  // ------------------------------------------------------------------- input

  private installInput(): void {
    let drag: { x: number; y: number; id: number } | null = null;
    const c = this.canvas;
    let turning = false;
    c.addEventListener("pointerdown", (e) => {
      if (this.mode !== "flat") return;
      turning = e.shiftKey;
      drag = { x: e.clientX, y: e.clientY, id: e.pointerId };
      try { c.setPointerCapture(e.pointerId); } catch { /* synthetic pointers */ }
    });
    const end = () => { drag = null; };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("pointermove", (e) => {
      if (!drag || this.mode !== "flat") return;
      if (turning) {
        // Shift-drag turns the model about its vertical axis.
        const turn = fromAxisAngle({ x: 0, y: 1, z: 0 }, (e.clientX - drag.x) * DRAG_RATE * 2);
        this.model = clampXf({ ...this.model, orientation: mul(turn, this.model.orientation) });
        drag.x = e.clientX; drag.y = e.clientY;
        this.sendModelTransform();
        return;
      }
      // Drag the world: moving right turns the view left.
      this.yaw += (e.clientX - drag.x) * DRAG_RATE;
      this.pitch = clampPitch(this.pitch + (e.clientY - drag.y) * DRAG_RATE);
      drag.x = e.clientX; drag.y = e.clientY;
    });
    c.addEventListener("wheel", (e) => {
      if (this.mode !== "flat") return;
      e.preventDefault();
      // The wheel scales the model, within what the node accepts.
      this.model = clampXf({ ...this.model, scale: Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.model.scale * Math.exp(-e.deltaY * 0.001))) });
      this.sendModelTransform();
    }, { passive: false });
    c.addEventListener("dblclick", () => { if (this.mode === "cardboard") this.recenter(); });
    window.addEventListener("keydown", (e) => {
      if ((e.target as HTMLElement | null)?.tagName === "INPUT" || (e.target as HTMLElement | null)?.tagName === "SELECT") return;
      const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
      if (k === "r") { this.setReprojection(!this.reprojection); return; }
      if (k === "b") { this.showBothEyes = !this.showBothEyes; return; }
      if (k === "c" && this.mode === "cardboard") { this.recenter(); return; }
      if (k.startsWith("Arrow") || "wasd".includes(k)) { this.keys.add(k); e.preventDefault(); }
    });
    window.addEventListener("keyup", (e) => { this.keys.delete(e.key.length === 1 ? e.key.toLowerCase() : e.key); });
    window.addEventListener("blur", () => this.keys.clear());
    window.addEventListener("deviceorientation", (e) => {
      if (e.alpha === null && e.beta === null && e.gamma === null) return;
      const angle = (screen.orientation?.angle ?? (window as unknown as { orientation?: number }).orientation ?? 0) as number;
      this.cardboardRaw = fromDeviceOrientation(e.alpha ?? 0, e.beta ?? 0, e.gamma ?? 0, angle);
      this.lastOrientationEvent = performance.now();
    });
  }

  recenter(): void { this.cardboardYawOffset = null; }

  setReprojection(on: boolean): void { this.reprojection = on; this.onHud?.(); }

  look(yaw: number, pitch: number): void { this.yaw = yaw; this.pitch = clampPitch(pitch); }

  // -------------------------------------------------------------------- modes

  async setMode(mode: Mode): Promise<void> {
    if (this.xrSession && mode !== this.mode) await this.xrSession.end().catch(() => {});
    if (mode === "immersive-vr" || mode === "immersive-ar") {
      await this.enterXR(mode);
      return;
    }
    await this.releaseWakeLock();
    if (mode === "cardboard") await this.enterCardboard();
    else if (document.fullscreenElement) await document.exitFullscreen().catch(() => {});
    this.mode = mode;
    this.configKey = "";
    this.onHud?.();
  }

  private async enterCardboard(): Promise<void> {
    const DOE = (window as unknown as { DeviceOrientationEvent?: { requestPermission?: () => Promise<string> } }).DeviceOrientationEvent;
    if (!window.isSecureContext) this.onMessage("Motion sensors need a secure context: open this page over HTTPS (or on localhost).", "secure-context");
    if (DOE?.requestPermission) {
      const r = await DOE.requestPermission().catch(() => "denied");
      if (r !== "granted") this.onMessage("Motion sensor permission was denied: allow motion and orientation access for this site to use Cardboard.", "permission");
    }
    await document.documentElement.requestFullscreen?.().catch(() => {});
    await (screen.orientation as unknown as { lock?: (o: string) => Promise<void> })?.lock?.("landscape").catch(() => {});
    try {
      const wl = (navigator as unknown as { wakeLock?: { request(t: string): Promise<{ release(): Promise<void> }> } }).wakeLock;
      if (wl) this.wakeLock = await wl.request("screen");
    } catch { /* not granted: the screen may dim */ }
    this.cardboardYawOffset = null;
    const since = performance.now();
    setTimeout(() => {
      if (this.mode === "cardboard" && this.lastOrientationEvent < since) {
        this.onMessage("No device orientation events: this device has no motion sensor, or access to it is blocked.", "permission");
      }
    }, 2500);
  }

  private async releaseWakeLock(): Promise<void> {
    const wl = this.wakeLock;
    this.wakeLock = null;
    await wl?.release().catch(() => {});
  }

  private async enterXR(mode: "immersive-vr" | "immersive-ar"): Promise<void> {
    const xr = navigator.xr;
    if (!window.isSecureContext) throw new ClientError("secure-context", "WebXR needs a secure context: open this page over HTTPS (or on localhost).");
    if (!xr) throw new ClientError("unsupported", "This browser has no WebXR (navigator.xr).");
    if (!(await xr.isSessionSupported(mode).catch(() => false))) throw new ClientError("unsupported", `This browser or device does not offer ${mode} sessions.`);
    const gl = this.gl!;
    const overlay = document.getElementById("overlay");
    let session: XRSession;
    try {
      session = await xr.requestSession(mode, {
        optionalFeatures: ["local-floor", ...(mode === "immersive-ar" && overlay ? ["dom-overlay"] : [])],
        ...(mode === "immersive-ar" && overlay ? { domOverlay: { root: overlay } } : {}),
      } as XRSessionInit);
    } catch (err) {
      const name = (err as Error).name;
      if (name === "NotAllowedError" || name === "SecurityError") throw new ClientError("unsupported", `Permission for ${mode} was denied (${(err as Error).message}).`);
      throw err;
    }
    try { await (gl as unknown as { makeXRCompatible?: () => Promise<void> }).makeXRCompatible?.(); } catch { /* the fake or a compatible context */ }
    const layer = new XRWebGLLayer(session, gl, { alpha: mode === "immersive-ar", antialias: false });
    session.updateRenderState({ baseLayer: layer, depthNear: 0.05, depthFar: 200 });
    let ref: XRReferenceSpace;
    try { ref = await session.requestReferenceSpace("local-floor"); } catch { ref = await session.requestReferenceSpace("local"); }
    this.xrSession = session;
    this.xrRef = ref;
    this.mode = mode;
    this.configKey = "";
    // The HUD is hidden in XR; a select gesture (trigger, air tap) toggles it
    // (visible where the session has a DOM overlay).
    this.hudInXR = false;
    // A select that did not move the model (a trigger pull, an air tap).
    session.addEventListener("select", () => {
      if (this.grabMoved) return;
      this.hudInXR = !this.hudInXR;
      this.onHud?.();
    });
    // Grabbing the model: squeeze a controller, or pinch with a hand
    // (hands report a pinch as select); two hands scale and turn it.
    session.addEventListener("squeezestart", (e) => this.grabStart(e.inputSource));
    session.addEventListener("squeezeend", (e) => this.grabEnd(e.inputSource));
    session.addEventListener("selectstart", (e) => { if (e.inputSource.hand) this.grabStart(e.inputSource); else this.grabMoved = false; });
    session.addEventListener("selectend", (e) => { if (e.inputSource.hand) this.grabEnd(e.inputSource); });
    session.addEventListener("inputsourceschange", (e) => { for (const src of e.removed) this.grabEnd(src); });
    session.addEventListener("end", () => {
      this.xrSession = null;
      this.xrRef = null;
      this.grabbing = [];
      this.grab = null;
      this.mode = "flat";
      this.configKey = "";
      this.onHud?.();
    });
    const onXRFrame = (t: number, frame: XRFrame) => {
      if (this.xrSession !== session) return;
      session.requestAnimationFrame(onXRFrame);
      this.onXRFrame(t, frame, layer);
    };
    session.requestAnimationFrame(onXRFrame);
    this.onHud?.();
  }

  private onXRFrame(t: number, frame: XRFrame, layer: XRWebGLLayer): void {
    const pose = frame.getViewerPose(this.xrRef!);
    if (!pose) return;
    // An XR frame's time is when it is expected to be displayed.
    this.nextDisplayMs = t;
    const o = pose.transform.orientation, p = pose.transform.position;
    const head = normalize({ x: o.x, y: o.y, z: o.z, w: o.w });
    this.head = head;
    this.headPos = { x: p.x, y: p.y, z: p.z };
    this.sendPose(head, this.headPos, performance.now());
    this.updateGrab(frame);

    const views = [...pose.views];
    const tangents: Tangents[] = views.map((v) => tangentsFromProjection(v.projectionMatrix));
    const eyes: EyeDraw[] = [];
    const cfgViews: Record<string, unknown>[] = [];
    views.forEach((v, i) => {
      const vp = layer.getViewport(v);
      if (!vp) return;
      const eye: 0 | 1 = v.eye === "right" ? 1 : 0;
      const q = v.transform.position;
      const off = rotate(conj(head), { x: q.x - p.x, y: q.y - p.y, z: q.z - p.z });
      cfgViews[eye] = { projectionMatrix: Array.from(v.projectionMatrix, round6), offset: { x: round6(off.x), y: round6(off.y), z: round6(off.z) } };
      eyes.push({ viewport: [vp.x, vp.y, vp.width, vp.height], eye, display: tangents[i], source: this.source[eye] });
    });
    if (cfgViews.length && this.session) {
      const left = cfgViews[0] ?? cfgViews[1], right = cfgViews[1] ?? cfgViews[0];
      const lt = tangentsFromProjection(left.projectionMatrix as number[]), rt = tangentsFromProjection(right.projectionMatrix as number[]);
      const vp0 = eyes[0]?.viewport;
      const h = Math.min(vp0 ? vp0[3] : this.session.height, 1080);
      const w = 2 * Math.round((h * (lt.left + lt.right)) / (lt.up + lt.down));
      const lo = left.offset as Vec3, ro = right.offset as Vec3;
      this.sendDeviceConfigIfChanged({
        cfg: {
          left: { projectionMatrix: left.projectionMatrix as number[], offset: lo },
          right: { projectionMatrix: right.projectionMatrix as number[], offset: ro },
          ipdM: round6(Math.hypot(ro.x - lo.x, ro.y - lo.y, ro.z - lo.z)) || DEFAULT_IPD,
          refreshRateHz: snapRate((this.xrSession as unknown as { frameRate?: number })?.frameRate ?? this.refreshHz),
          width: widthClamp(w), height: evenClamp(h),
          deviceName: `WebXR ${this.mode}`,
        },
        source: [lt, rt],
      });
    }
    const gl = this.gl!;
    gl.bindFramebuffer(gl.FRAMEBUFFER, layer.framebuffer);
    // AR: transparent background; on pass-through (alpha-blend) displays the
    // node's black is keyed out too (additive displays show black as clear).
    const ar = this.mode === "immersive-ar";
    const blend = (this.xrSession as unknown as { environmentBlendMode?: string } | null)?.environmentBlendMode;
    this.composite(eyes, t, ar ? [0, 0, 0, 0] : [0, 0, 0, 1], head, ar && blend === "alpha-blend");
  }

  // -------------------------------------------------------------------- stats

  private async pollStats(): Promise<void> {
    const pc = this.conn?.pc;
    const now = performance.now();
    if (pc) {
      try {
        const rep = await pc.getStats();
        rep.forEach((s: Record<string, unknown>) => {
          if (s.type === "inbound-rtp" && s.kind === "video") {
            const prev = this.inbound;
            const cur = { framesDecoded: Number(s.framesDecoded ?? 0), framesReceived: Number(s.framesReceived ?? 0), bytesReceived: Number(s.bytesReceived ?? 0), at: now };
            if (prev.at && cur.at > prev.at && cur.framesReceived >= prev.framesReceived) {
              const dt = (cur.at - prev.at) / 1000;
              this.rates.fpsReceived = (cur.framesReceived - prev.framesReceived) / dt;
              this.rates.bitrateKbps = ((cur.bytesReceived - prev.bytesReceived) * 8) / 1000 / dt;
            }
            this.inbound = cur;
          }
        });
      } catch { /* closed meanwhile */ }
      this.rates.fpsDisplayed = this.framesDisplayed - this.lastDisplayedCount;
      this.lastDisplayedCount = this.framesDisplayed;
      // Report what only the client measures; the node uses motion-to-photon as its prediction horizon.
      const mtp = this.mtpRecent.quantile(0.5), ptf = this.poseToFrame.quantile(0.5), dd = this.displayDelay.quantile(0.5);
      this.conn?.sendControl(newControl({ message: { case: "clientReport", value: {
        motionToPhotonUs: (this.reportedMtpUs = usOrZero(mtp)), poseToFrameUs: usOrZero(ptf), displayDelayUs: usOrZero(dd),
        framesReceived: BigInt(this.inbound.framesReceived), framesDisplayed: BigInt(this.framesDisplayed),
      } } }));
      this.sendDisplayTiming();
      this.conn?.sendControl(newControl({ message: { case: "ping", value: { id: BigInt(++this.pingId), timeUs: BigInt(Math.round(performance.now() * 1000)) } } }));
      this.checkLiveness();
    }
    this.onHud?.();
  }

  /**
   * Tells the node when this display shows frames (the next display time
   * on the clock of the poses' sample times, performance.now(), and the
   * refresh rate), so that it aims each frame to arrive just before one.
   */
  private sendDisplayTiming(): void {
    if (!this.nextDisplayMs || !(this.refreshHz >= 1)) return;
    this.conn?.sendControl(newControl({ message: { case: "displayTiming", value: {
      refreshRateHz: this.refreshHz, nextDisplayTimeUs: BigInt(Math.round(this.nextDisplayMs * 1000)),
    } } }));
    this.displayTimingsSent++;
  }

  stats(): Stats {
    const q = (p: Percentiles) => ({ p50: round2(p.quantile(0.5)), p95: round2(p.quantile(0.95)) });
    const fi = this.lastInfo;
    const t = fi?.timings;
    const s = this.session;
    return {
      mode: this.mode,
      state: this.state,
      framesDecoded: this.inbound.framesDecoded,
      framesReceived: this.inbound.framesReceived,
      framesDisplayed: this.framesDisplayed,
      framesMatched: this.framesMatched,
      posesSent: this.posesSent,
      poseToFrameMs: q(this.poseToFrame),
      motionToPhotonMs: q(this.mtp),
      predictionErrorDeg: q(this.predErr),
      fpsReceived: round2(this.rates.fpsReceived),
      fpsDisplayed: round2(this.rates.fpsDisplayed),
      bitrateKbps: Math.round(this.rates.bitrateKbps),
      rttMs: round2(this.rttMs),
      reprojection: this.reprojection,
      session: s ? { id: s.sessionId, width: s.width, height: s.height, fps: s.fps, encoder: s.encoder, renderer: s.renderer, predictor: s.predictor } : null,
      lastPose: this.lastPose ? { seq: this.lastPose.seq, orientation: { ...this.lastPose.q }, position: { ...this.headPos } } : null,
      reportedMotionToPhotonMs: this.reportedMtpUs / 1000,
      hudInXR: this.hudInXR,
      displayTimingsSent: this.displayTimingsSent,
      lastFrameInfo: fi ? { frameId: Number(fi.frameId), poseSeq: Number(fi.poseSeq), horizonMs: fi.horizonUs / 1000, targetDisplayMs: Number(fi.targetDisplayTimeUs) / 1000, renderedOrientation: fi.renderedOrientation ? { x: fi.renderedOrientation.x, y: fi.renderedOrientation.y, z: fi.renderedOrientation.z, w: fi.renderedOrientation.w } : null, scene: fi.scene, modelTransformSeq: Number(fi.modelTransformSeq), triangles: fi.triangles } : null,
      nodeTimingsMs: t ? { poseAge: t.poseAgeUs / 1000, queue: t.queueUs / 1000, render: t.renderUs / 1000, convert: t.convertUs / 1000, encode: t.encodeUs / 1000, send: t.sendUs / 1000 } : null,
      error: this.error,
      iceServers: (this.conn?.pc?.getConfiguration().iceServers ?? []).map((x) => ({
        urls: typeof x.urls === "string" ? [x.urls] : [...x.urls], ...(x.username ? { username: x.username } : {}),
      })),
      scene: this.scene,
      model: { position: { ...this.modelSent.position }, orientation: { ...this.modelSent.orientation }, scale: this.modelSent.scale },
      grabsStarted: this.grabsStarted,
      grabbing: this.grabbing.length,
    };
  }

  /** The model's turn about the vertical (radians) and its scale. */
  get modelYaw(): number { return yawOf(this.model.orientation); }
  get modelScale(): number { return this.model.scale; }

  /** Sends the model transform to the node. */
  sendModelTransform(): void {
    const m = this.model;
    this.modelSent = { position: { ...m.position }, orientation: { ...m.orientation }, scale: m.scale };
    this.conn?.sendControl(newControl({ message: { case: "modelTransform", value: {
      seq: BigInt(++this.modelSeq), position: { ...m.position }, orientation: { ...m.orientation }, scale: m.scale,
    } } }));
  }

  /** Sequence number of the last ModelTransform sent (tests). */
  modelSeqSent(): number { return this.modelSeq; }

  /** Switches the session to another of the node's scenes (GET /v1/scenes lists them). */
  selectScene(name: string): void {
    this.conn?.sendControl(newControl({ message: { case: "selectScene", value: { name } } }));
  }

  /** The node's scenes (GET v1/scenes with the access token). */
  async listScenes(): Promise<{ name: string; triangles?: number }[]> {
    const resp = await fetch(new URL(SCENES_PATH, this.base), { headers: this.token ? { Authorization: `Bearer ${this.token}` } : {} });
    if (!resp.ok) throw new Error(`GET ${SCENES_PATH}: HTTP ${resp.status}`);
    const list = (await resp.json()) as unknown;
    if (!Array.isArray(list)) throw new Error(`GET ${SCENES_PATH}: not a list`);
    return list.filter((x): x is { name: string; triangles?: number } => typeof x?.name === "string");
  }

  private grabStart(src: XRInputSource): void {
    if (this.grabbing.includes(src)) return;
    this.grabbing.push(src);
    this.grab = null; // begins again from the current transform at the next XR frame
    if (this.grabbing.length === 1) this.grabMoved = false;
    this.grabsStarted++;
  }

  private grabEnd(src: XRInputSource): void {
    const i = this.grabbing.indexOf(src);
    if (i < 0) return;
    this.grabbing.splice(i, 1);
    this.grab = null;
  }

  /** Follows the grabbing hands in an XR frame and sends the transform when it changed. */
  private updateGrab(frame: XRFrame): void {
    if (!this.grabbing.length || !this.xrRef) return;
    const hands: HandPose[] = [];
    for (const src of this.grabbing.slice(0, 2)) {
      const p = frame.getPose(src.gripSpace ?? src.targetRaySpace, this.xrRef);
      if (!p) return; // tracking lost this frame: hold the model where it is
      const o = p.transform.orientation, q = p.transform.position;
      hands.push({ position: { x: q.x, y: q.y, z: q.z }, orientation: { x: o.x, y: o.y, z: o.z, w: o.w } });
    }
    if (!this.grab) { this.grab = beginGrab(this.model, hands); return; }
    this.model = grabTransform(this.grab, hands);
    if (xfChanged(this.model, this.modelSent)) {
      this.grabMoved = true;
      this.sendModelTransform();
    }
  }

  /** Luminance of the next composited frame (tests). */
  snapshot(): Promise<ReturnType<VideoRenderer["snapshot"]>> {
    return new Promise((resolve) => this.snapshotWaiters.push(resolve));
  }

  /** Orientation the shown frame was rendered for, and the current head. */
  debugState(): { rendered: Quat | null; head: Quat; hold: boolean } {
    return { rendered: this.shown ? { ...this.shown.rendered } : null, head: { ...this.head }, hold: this.hold };
  }

  /** Sets the head orientation directly (flat mode tests). */
  setHead(q: Quat): void {
    const f = rotate(q, { x: 0, y: 0, z: -1 });
    this.yaw = Math.atan2(-f.x, -f.z);
    this.pitch = clampPitch(Math.asin(Math.max(-1, Math.min(1, f.y))));
  }
}

function eyeConfig(l: Tangents, r: Tangents, extra: { deviceName: string; refreshRateHz: number; width?: number; height?: number }): DeviceConfigInit {
  const f = (t: Tangents) => {
    const x = fovFromTangents(t);
    return { left: round6(x.left), right: round6(x.right), up: round6(x.up), down: round6(x.down) };
  };
  return {
    left: { fov: f(l) }, right: { fov: f(r) }, ipdM: DEFAULT_IPD,
    deviceName: extra.deviceName, refreshRateHz: snapRate(extra.refreshRateHz),
    width: extra.width ?? 0, height: extra.height ?? 0,
  };
}

/** Tangents reached by the corners of a viewport through radial distortion k. */
function distortedTangents(t: Tangents, k: [number, number]): Tangents {
  const s = (x: number, y: number) => { const r2 = x * x + y * y; return 1 + k[0] * r2 + k[1] * r2 * r2; };
  return { left: t.left * s(t.left, 0), right: t.right * s(t.right, 0), up: t.up * s(0, t.up), down: t.down * s(0, t.down) };
}

/** Nearest common display rate, so that jitter in the measured rate does not resend DeviceConfig. */
export function snapRate(hz: number): number {
  const rates = [30, 60, 72, 75, 90, 120, 144, 165, 240];
  return rates.reduce((a, b) => (Math.abs(b - hz) < Math.abs(a - hz) ? b : a), 60);
}
function clampPitch(p: number): number { return Math.max(-1.5, Math.min(1.5, p)); }
function evenClamp(x: number): number { return Math.max(64, Math.min(2880, Math.round(x / 2) * 2)); }
/** Side-by-side widths are asked in multiples of 4 (each eye even; renderers want it). */
function widthClamp(x: number): number { return Math.max(64, Math.min(2880, Math.round(x / 4) * 4)); }
function round6(x: number): number { return Math.round(x * 1e6) / 1e6; }
function round2(x: number): number { return Number.isFinite(x) ? Math.round(x * 100) / 100 : NaN; }
function usOrZero(ms: number): number { return Number.isFinite(ms) && ms > 0 ? Math.min(4_000_000, Math.round(ms * 1000)) : 0; }
