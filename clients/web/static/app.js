// Minimal flat client of the Holocast wire contract: WHEP-style offer,
// "pose" (unordered, unreliable) and "control" data channels, H.264 video.
// Drag the mouse or use the arrow keys to look around.
'use strict';
(() => {
  const video = document.getElementById('video');
  const status = document.getElementById('status');
  const statsEl = document.getElementById('stats');
  const button = document.getElementById('connect');
  let pc = null, poseChannel = null, location = null, seq = 0, timer = 0;
  let yaw = 0, pitch = 0, framesInfo = 0;
  const epoch = performance.now();

  // --- protobuf encoding of holocast.v1.Pose (see proto/holocast.proto) ---
  function varint(out, v) { while (v >= 128) { out.push((v % 128) | 128); v = Math.floor(v / 128); } out.push(v); }
  function f32(out, field, v) { out.push((field << 3) | 5); out.push(...new Uint8Array(new Float32Array([v]).buffer)); }
  function sub(out, field, bytes) { out.push((field << 3) | 2); varint(out, bytes.length); out.push(...bytes); }
  function encodePose(seq, timeUs, q, p) {
    const out = [];
    out.push(1 << 3); varint(out, seq);
    out.push(2 << 3); varint(out, timeUs);
    const qb = []; f32(qb, 1, q[0]); f32(qb, 2, q[1]); f32(qb, 3, q[2]); f32(qb, 4, q[3]); sub(out, 3, qb);
    const pb = []; f32(pb, 1, p[0]); f32(pb, 2, p[1]); f32(pb, 3, p[2]); sub(out, 4, pb);
    return new Uint8Array(out);
  }
  // Yaw about +Y, then pitch about +X (WebXR frame: -Z forward).
  function orientation() {
    const cy = Math.cos(yaw / 2), sy = Math.sin(yaw / 2), cp = Math.cos(pitch / 2), sp = Math.sin(pitch / 2);
    return [cy * sp, sy * cp, -sy * sp, cy * cp];
  }
  function sendPose() {
    if (!poseChannel || poseChannel.readyState !== 'open') return;
    seq++;
    poseChannel.send(encodePose(seq, Math.round((performance.now() - epoch) * 1000), orientation(), [0, 1.6, 0]));
  }

  // --- look controls ---
  let dragging = false, lastX = 0, lastY = 0;
  video.addEventListener('pointerdown', e => { dragging = true; lastX = e.clientX; lastY = e.clientY; video.setPointerCapture(e.pointerId); });
  video.addEventListener('pointerup', () => { dragging = false; });
  video.addEventListener('pointermove', e => {
    if (!dragging) return;
    yaw -= (e.clientX - lastX) * 0.005; pitch -= (e.clientY - lastY) * 0.005;
    pitch = Math.max(-1.5, Math.min(1.5, pitch)); lastX = e.clientX; lastY = e.clientY;
  });
  window.addEventListener('keydown', e => {
    const step = 0.05;
    if (e.key === 'ArrowLeft') yaw += step; else if (e.key === 'ArrowRight') yaw -= step;
    else if (e.key === 'ArrowUp') pitch = Math.min(1.5, pitch + step); else if (e.key === 'ArrowDown') pitch = Math.max(-1.5, pitch - step);
  });

  // --- connection ---
  async function connect() {
    disconnect();
    status.textContent = 'connecting';
    pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    poseChannel = pc.createDataChannel('pose', { ordered: false, maxRetransmits: 0 });
    const control = pc.createDataChannel('control');
    control.binaryType = 'arraybuffer';
    control.onmessage = e => { if (new Uint8Array(e.data)[0] === ((3 << 3) | 2)) framesInfo++; };
    pc.ontrack = e => { video.srcObject = new MediaStream([e.track]); };
    pc.onconnectionstatechange = () => { status.textContent = pc ? pc.connectionState : 'disconnected'; };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise(resolve => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
      setTimeout(resolve, 2000);
    });
    const resp = await fetch('v1/sessions', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    if (resp.status !== 201) { status.textContent = 'error ' + resp.status + ': ' + await resp.text(); return; }
    location = resp.headers.get('Location');
    await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
    timer = setInterval(sendPose, 1000 / 90);
  }
  function disconnect() {
    clearInterval(timer);
    if (location) { fetch(location, { method: 'DELETE', keepalive: true }).catch(() => {}); location = null; }
    if (pc) { pc.close(); pc = null; }
    status.textContent = 'disconnected';
  }
  setInterval(() => {
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
    statsEl.textContent = q ? `frames ${q.totalVideoFrames}, frame infos ${framesInfo}, ${video.videoWidth}×${video.videoHeight}` : '';
  }, 500);
  button.addEventListener('click', () => { connect().catch(err => { status.textContent = 'error: ' + err; }); });
  window.addEventListener('pagehide', disconnect);
  connect().catch(err => { status.textContent = 'error: ' + err; });
})();
