// Entry point of the browser client: page wiring, mode selection, HUD and
// the window.holocast automation API.

import { App, type Mode, type ModeChoice } from "./app";
import { ClientError } from "./connection";
import { adoptToken, tabStorage } from "./token";

declare global {
  interface Window { holocast: HolocastAPI }
}

export interface HolocastAPI {
  connect(): Promise<void>;
  disconnect(): void;
  stats(): ReturnType<App["stats"]>;
  setReprojection(on: boolean): void;
  setMode(mode: ModeChoice): Promise<Mode>;
  look(yaw: number, pitch: number): void;
  app: App;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

async function autoMode(): Promise<Mode> {
  const xr = navigator.xr;
  if (xr && window.isSecureContext) {
    if (await xr.isSessionSupported("immersive-vr").catch(() => false)) return "immersive-vr";
    if (await xr.isSessionSupported("immersive-ar").catch(() => false)) return "immersive-ar";
  }
  const phone = matchMedia("(pointer: coarse)").matches && "DeviceOrientationEvent" in window;
  return phone ? "cardboard" : "flat";
}

function start(): void {
  // First of all: take the access token out of the address bar.
  const token = adoptToken(location, history, tabStorage());
  const canvas = $<HTMLCanvasElement>("view");
  const video = $<HTMLVideoElement>("video");
  const hud = $("hud"), hudText = $("hud-text"), msg = $("message"), stateEl = $("state");
  const modeSel = $<HTMLSelectElement>("mode"), reproj = $<HTMLInputElement>("reprojection");
  const connectBtn = $<HTMLButtonElement>("connect"), enterBtn = $<HTMLButtonElement>("enter");
  const params = new URLSearchParams(location.search);
  const app = new App(new URL(".", location.href), canvas, video);
  app.token = token;

  app.onMessage = (text, kind) => {
    msg.textContent = text ?? "";
    msg.hidden = !text;
    msg.dataset.kind = kind ?? "";
  };
  let hudVisible = params.get("hud") !== "0";
  const renderHud = () => {
    const s = app.stats();
    stateEl.textContent = s.state;
    connectBtn.textContent = s.state === "disconnected" || s.state === "error" ? "Connect" : "Disconnect";
    reproj.checked = s.reprojection;
    hud.hidden = s.mode.startsWith("immersive") ? !s.hudInXR : !hudVisible;
    if (hud.hidden) return;
    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
    const n = s.nodeTimingsMs;
    hudText.textContent = [
      `mode ${s.mode} · ${s.session ? `${s.session.width}×${s.session.height}@${s.session.fps} ${s.session.encoder}` : "no session"}`,
      `received ${f(s.fpsReceived)} fps · displayed ${f(s.fpsDisplayed)} fps · ${f(s.bitrateKbps / 1000, 2)} Mbit/s · decoded ${s.framesDecoded} · shown ${s.framesDisplayed} (matched ${s.framesMatched})`,
      `pose→frame p50 ${f(s.poseToFrameMs.p50)} ms p95 ${f(s.poseToFrameMs.p95)} ms · motion→photon p50 ${f(s.motionToPhotonMs.p50)} ms p95 ${f(s.motionToPhotonMs.p95)} ms · rtt ${f(s.rttMs)} ms`,
      n ? `node: pose age ${f(n.poseAge)} · render ${f(n.render)} · convert ${f(n.convert)} · encode ${f(n.encode)} · send ${f(n.send)} ms` : "node: –",
      `prediction error p50 ${f(s.predictionErrorDeg.p50, 2)}° p95 ${f(s.predictionErrorDeg.p95, 2)}° · reprojection ${s.reprojection ? "on" : "off"} (R) · HUD (H)`,
    ].join("\n");
  };
  app.onHud = () => { renderHud(); showScene(); };
  setInterval(renderHud, 500);

  if (!window.isSecureContext) {
    app.onMessage("This page is not a secure context (HTTPS or localhost): WebXR and motion sensors are unavailable. Flat mode still works.", "secure-context");
  }
  const err = app.init();
  if (err) { app.onMessage(err, "unsupported"); return; }

  const setMode = async (choice: ModeChoice): Promise<Mode> => {
    const mode = choice === "auto" ? await autoMode() : choice;
    const immersive = mode.startsWith("immersive");
    // Immersive sessions need a user gesture: offer a button unless asked directly.
    try {
      await app.setMode(mode);
    } catch (e) {
      app.onMessage((e as Error).message, (e as ClientError).kind ?? "error");
      if (immersive) await app.setMode("flat");
    }
    renderHud();
    return app.mode;
  };

  // Auto mode picks flat until the user enters XR/Cardboard with the button.
  const initial = (params.get("mode") as ModeChoice | null) ?? "auto";
  modeSel.value = initial;
  void autoMode().then((m) => {
    const target = initial === "auto" ? m : initial;
    enterBtn.hidden = target === "flat";
    enterBtn.textContent = target === "cardboard" ? "Enter Cardboard" : target === "immersive-ar" ? "Enter AR" : "Enter VR";
    enterBtn.dataset.mode = target;
  });
  enterBtn.addEventListener("click", () => { void setMode(enterBtn.dataset.mode as Mode); });
  modeSel.addEventListener("change", () => {
    const v = modeSel.value as ModeChoice;
    if (v === "flat") { void setMode("flat"); enterBtn.hidden = true; return; }
    void (v === "auto" ? autoMode() : Promise.resolve(v as Mode)).then((m) => {
      enterBtn.hidden = m === "flat";
      enterBtn.dataset.mode = m;
      enterBtn.textContent = m === "cardboard" ? "Enter Cardboard" : m === "immersive-ar" ? "Enter AR" : "Enter VR";
      if (m === "flat") void setMode("flat");
    });
  });
  reproj.addEventListener("change", () => app.setReprojection(reproj.checked));

  // The node's scenes: a list to pick from when it has more than one. The
  // choice switches the running session (SelectScene) and stays in the
  // address (?scene=) for reconnects and reloads.
  const sceneSel = $<HTMLSelectElement>("scene"), sceneLabel = $("scene-label");
  const showScene = () => {
    if (app.scene && sceneSel.value !== app.scene && [...sceneSel.options].some((o) => o.value === app.scene)) sceneSel.value = app.scene;
  };
  const loadScenes = async () => {
    try {
      const list = await app.listScenes();
      sceneSel.replaceChildren(...list.map((x) => {
        const o = document.createElement("option");
        o.value = x.name;
        o.textContent = x.triangles ? `${x.name} (${x.triangles.toLocaleString("en")} triangles)` : x.name;
        return o;
      }));
      sceneLabel.hidden = list.length < 2;
      const want = app.scene || params.get("scene");
      if (want) sceneSel.value = want;
    } catch { sceneLabel.hidden = true; /* an older node without the list */ }
  };
  sceneSel.addEventListener("change", () => {
    const name = sceneSel.value;
    app.selectScene(name);
    const u = new URL(location.href);
    u.searchParams.set("scene", name);
    history.replaceState(history.state, "", u);
  });
  void loadScenes();
  connectBtn.addEventListener("click", () => {
    if (connectBtn.textContent === "Connect") app.connect().catch(() => {});
    else app.disconnect();
  });
  window.addEventListener("keydown", (e) => {
    if (e.key === "h" || e.key === "H") { hudVisible = !hudVisible; renderHud(); }
  });
  window.addEventListener("pagehide", (e) => app.pageHide(e.persisted));
  window.addEventListener("pageshow", (e) => { if (e.persisted) app.pageShow(); });

  window.holocast = {
    connect: () => app.connect(),
    disconnect: () => app.disconnect(),
    stats: () => app.stats(),
    setReprojection: (on) => app.setReprojection(on),
    setMode,
    look: (yaw, pitch) => app.look(yaw, pitch),
    app,
  };

  if (params.get("autoconnect") !== "0") app.connect().catch(() => {});
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
