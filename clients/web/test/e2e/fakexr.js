// A scripted WebXR device for tests, injected before the page loads: a
// navigator.xr stand-in that offers immersive-vr/-ar sessions whose frames
// yield the viewer pose in window.__fakeXR.pose and two views (left, right)
// with a symmetric projection, drawn into the page's canvas (framebuffer
// null) split in halves. Input sources: __fakeXR.addInput(id, {hand}) adds
// a controller (or a tracked hand) whose grip pose is __fakeXR.grips[id],
// and __fakeXR.input(type, id) dispatches squeezestart, selectstart, ... for it.
(() => {
  const state = {
    pose: { orientation: { x: 0, y: 0, z: 0, w: 1 }, position: { x: 0, y: 1.6, z: 0 } },
    ipd: 0.064,
    halfVFov: Math.PI / 4,
    session: null,
    frames: 0,
    grips: {},
  };
  window.__fakeXR = state;

  const mul = (a, b) => ({
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
  });
  const rotate = (q, v) => {
    const p = mul(mul(q, { x: v.x, y: v.y, z: v.z, w: 0 }), { x: -q.x, y: -q.y, z: -q.z, w: q.w });
    return { x: p.x, y: p.y, z: p.z };
  };
  const transform = (p, o) => ({
    position: { x: p.x, y: p.y, z: p.z, w: 1 },
    orientation: { x: o.x, y: o.y, z: o.z, w: o.w },
  });
  const projection = (aspect) => {
    const t = Math.tan(state.halfVFov), near = 0.05, far = 200;
    const m = new Float32Array(16);
    m[0] = 1 / (t * aspect); m[5] = 1 / t;
    m[10] = -(far + near) / (far - near); m[11] = -1; m[14] = (-2 * far * near) / (far - near);
    return m;
  };

  class FakeXRWebGLLayer {
    constructor(session, gl) { this.session = session; this.gl = gl; this.framebuffer = null; }
    get framebufferWidth() { return this.gl.drawingBufferWidth; }
    get framebufferHeight() { return this.gl.drawingBufferHeight; }
    getViewport(view) {
      const w = this.gl.drawingBufferWidth, h = this.gl.drawingBufferHeight, half = Math.floor(w / 2);
      return view.eye === "right" ? { x: half, y: 0, width: half, height: h } : { x: 0, y: 0, width: half, height: h };
    }
  }

  class FakeFrame {
    constructor(session) { this.session = session; }
    getViewerPose() {
      const { orientation: o, position: p } = state.pose;
      const gl = this.session.renderState.baseLayer.gl;
      const aspect = Math.floor(gl.drawingBufferWidth / 2) / gl.drawingBufferHeight;
      const views = ["left", "right"].map((eye) => {
        const off = rotate(o, { x: (eye === "left" ? -0.5 : 0.5) * state.ipd, y: 0, z: 0 });
        return { eye, projectionMatrix: projection(aspect), transform: transform({ x: p.x + off.x, y: p.y + off.y, z: p.z + off.z }, o) };
      });
      return { transform: transform(p, o), views, emulatedPosition: false };
    }
    getPose(space) {
      const g = space && state.grips[space.id];
      return g ? { transform: transform(g.position, g.orientation), emulatedPosition: false } : null;
    }
  }

  state.addInput = (id, opts = {}) => {
    const src = { handedness: id, targetRayMode: "tracked-pointer", gripSpace: { id }, targetRaySpace: { id }, hand: opts.hand ? new Map() : null, profiles: [] };
    state.session.inputSources.push(src);
    return id;
  };
  state.input = (type, id) => {
    const src = state.session.inputSources.find((s) => s.gripSpace.id === id);
    state.session.dispatchEvent(Object.assign(new Event(type), { inputSource: src, frame: null }));
  };

  class FakeSession extends EventTarget {
    constructor(mode) {
      super();
      this.mode = mode;
      this.renderState = { baseLayer: null, depthNear: 0.1, depthFar: 1000 };
      this.inputSources = [];
      this.environmentBlendMode = mode === "immersive-ar" ? "additive" : "opaque";
      this.ended = false;
    }
    updateRenderState(s) { Object.assign(this.renderState, s); }
    requestReferenceSpace(type) { return Promise.resolve({ type }); }
    requestAnimationFrame(cb) {
      return window.requestAnimationFrame((t) => {
        if (this.ended) return;
        state.frames++;
        cb(t, new FakeFrame(this));
      });
    }
    cancelAnimationFrame(h) { window.cancelAnimationFrame(h); }
    end() {
      if (!this.ended) { this.ended = true; this.dispatchEvent(new Event("end")); }
      return Promise.resolve();
    }
  }

  const xr = {
    isSessionSupported: async (mode) => mode === "immersive-vr" || mode === "immersive-ar" || mode === "inline",
    requestSession: async (mode, init) => {
      if (state.deny) throw new DOMException("The user denied the session", "NotAllowedError");
      state.requested = { mode, init: JSON.parse(JSON.stringify({ ...init, domOverlay: undefined })) };
      state.session = new FakeSession(mode);
      return state.session;
    },
    addEventListener() {},
    removeEventListener() {},
  };
  Object.defineProperty(Navigator.prototype, "xr", { get: () => xr, configurable: true });
  window.XRWebGLLayer = FakeXRWebGLLayer;
  const proto = (window.WebGL2RenderingContext || window.WebGLRenderingContext).prototype;
  proto.makeXRCompatible = () => Promise.resolve();
  if (window.WebGLRenderingContext) window.WebGLRenderingContext.prototype.makeXRCompatible = () => Promise.resolve();
})();
