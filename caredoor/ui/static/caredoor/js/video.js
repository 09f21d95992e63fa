// The video room (common/video_room.html): device check, waiting room, the call, recovery.
//
// The page's root (#video-room) carries data-ws-path (the signaling socket, docs/video.md
// "Signaling"), data-side, data-fallback-seconds and data-conversation-url; every sentence
// shown comes translated in the JSON block #video-strings. No framework, no inline code.
//
//  1. Device check: camera preview, microphone level (AnalyserNode), camera and microphone
//     choice (switching re-acquires), plain guidance when permission is denied, no device is
//     found or a device is busy; "Join" and "Join with audio only".
//  2. Waiting room: the socket opens; whoever is first sees "Waiting for ..." (aria-live).
//  3. The call: one RTCPeerConnection per meeting of the two sides, "perfect negotiation"
//     (welcome.polite), controls (mute, camera, screen share, background blur through
//     window.CaredoorBlur when present, timer, leave), the other side's muted/camera state
//     from "media" frames. Before anything is connected, the polite side meeting a
//     colliding offer starts a new peer connection instead of rolling back (Chromium can
//     lose its candidate gathering in that rollback), and a connection that never gathers
//     a candidate is replaced.
//  4. Recovery: ICE "disconnected" for 3 s or "failed" -> status "reconnecting", fresh ICE
//     servers ({"type":"ice"}), restartIce(); not connected within 10 s -> rejoin (a new
//     socket, a new peer connection). A dropped socket reconnects with backoff. After the
//     brand's fallback delay without a connection: "Continue with audio only" and the
//     conversation link.
(() => {
  "use strict";

  const root = document.getElementById("video-room");
  const stringsNode = document.getElementById("video-strings");
  if (!root || !stringsNode) return;

  const T = JSON.parse(stringsNode.textContent);
  const WS_PATH = root.dataset.wsPath;
  const FALLBACK_MS = (Number.parseInt(root.dataset.fallbackSeconds, 10) || 20) * 1000;
  const PING_EVERY = 20000;
  const DISCONNECTED_GRACE = 3000;
  const RESTART_WITHIN = 10000;
  const FIRST_RETRY = 1000;
  const MAX_RETRY = 15000;
  const FRESH_PEER_MS = 1500; // a second "joined" this soon after a new connection is an echo
  const GATHER_WITHIN = 2500; // ICE that has not started by then after an answer is restarted
  const CONNECT_WITHIN = 15000; // a new connection not connected by then: start afresh (twice)
  const FINAL_CODES = new Set([1000, 4401, 4403, 4404, 4409, 4410]);
  const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

  const $ = (id) => document.getElementById(id);
  const el = {
    status: $("vr-status"),
    check: $("vr-check"),
    preview: $("vr-preview"),
    previewBox: $("vr-preview").parentElement,
    problem: $("vr-problem"),
    problemTitle: $("vr-problem-title"),
    problemText: $("vr-problem-text"),
    retry: $("vr-retry"),
    camera: $("vr-camera"),
    microphone: $("vr-microphone"),
    meter: $("vr-meter"),
    meterBar: $("vr-meter-bar"),
    checkState: $("vr-check-state"),
    join: $("vr-join"),
    joinAudio: $("vr-join-audio"),
    call: $("vr-call"),
    remoteBox: $("vr-remote-box"),
    remote: $("vr-remote"),
    remoteNote: $("vr-remote-note"),
    remoteMuted: $("vr-remote-muted"),
    remoteCamera: $("vr-remote-camera"),
    remoteScreen: $("vr-remote-screen"),
    play: $("vr-play"),
    self: $("vr-self"),
    selfOff: $("vr-self-off"),
    fallback: $("vr-fallback"),
    fallbackTitle: $("vr-fallback-title"),
    fallbackText: $("vr-fallback-text"),
    audioOnly: $("vr-audio-only"),
    mute: $("vr-mute"),
    cameraToggle: $("vr-camera-toggle"),
    share: $("vr-share"),
    blur: $("vr-blur"),
    timer: $("vr-timer"),
    hangup: $("vr-hangup"),
    ended: $("vr-ended"),
    endedTitle: $("vr-ended-title"),
    endedText: $("vr-ended-text"),
    rejoin: $("vr-rejoin"),
  };

  const fmt = (text, values) =>
    String(text || "").replace(/%\((\w+)\)s/g, (whole, key) => (key in values ? String(values[key]) : whole));
  // What happened, for tests and support: event names and states only, never content.
  const events = [];
  const trace = (...what) => {
    events.push(`${Math.round(performance.now())} ${what.join(" ")}`);
    if (events.length > 300) events.shift();
  };
  const warn = (...args) => console.warn("video:", ...args); // never console.error: no health data, and tests read errors

  // --- state ---------------------------------------------------------------------------------

  const media = {
    audio: null, // the microphone track
    camera: null, // the camera track as captured
    blurred: null, // the camera through CaredoorBlur, while blur is on
    screen: null, // the screen track, while sharing
  };
  const flags = {
    muted: false,
    cameraOff: false,
    sharing: false,
    blur: false,
    receiveVideo: true, // false after "Continue with audio only"
  };
  let phase = "check"; // check | room | ended
  let socket = null;
  let polite = false;
  let iceServers = [];
  let peer = null; // {pc, makingOffer, ignoreOffer, settingAnswer, ...}
  let peerHere = false;
  let otherTrouble = false; // the other side said "reconnecting" or its socket was lost
  let connectedOnce = false;
  let everConnected = false; // this peer connection reached "connected"
  let recovery = null; // {timer} while restarting ICE
  let retries = 0;
  let retryTimer = 0;
  let pingTimer = 0;
  let fallbackTimer = 0;
  let callStart = 0;
  let clockTimer = 0;
  let lastReason = "";
  let lastOpens = null;
  let stalls = 0; // rejoins in a row without a connection
  let regathers = 0; // new connections because ICE never started
  let queue = Promise.resolve();
  // VIDEO_PROVIDER=livekit (welcome.config.provider): media through LiveKit (video-livekit.js)
  // instead of one RTCPeerConnection; the socket still carries presence, media states, the end.
  let useLiveKit = false;
  let lk = null; // the CaredoorLiveKit session, once connected
  let lkPending = null; // AbortController of a connect in progress
  let lkState = ""; // connecting | connected | reconnecting | disconnected
  let lkPeer = false; // the other side is in the LiveKit room

  // --- small helpers -------------------------------------------------------------------------

  const say = (text) => {
    el.status.textContent = text || "";
  };
  const setPressed = (button, on) => button.setAttribute("aria-pressed", on ? "true" : "false");
  const show = (node, on) => {
    node.hidden = !on;
  };

  const send = (frame) => {
    trace("send", frame.type, (frame.description && frame.description.type) || (frame.candidate ? "candidate" : "") || frame.state || "");
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  };

  const sessionDescription = (description) => ({ type: description.type, sdp: description.sdp });

  // The o= line's session id names the peer connection that wrote an SDP.
  const originOf = (sdp) => {
    const match = /^o=\S+ (\d+) /m.exec(sdp || "");
    return match ? match[1] : "";
  };

  // --- 1. the device check ---------------------------------------------------------------------

  const problemOf = (error) => {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") return "notFound";
    if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "inUse";
    return "other";
  };

  const PROBLEMS = {
    denied: ["problemDenied", "problemDeniedHelp"],
    notFound: ["problemNotFound", "problemNotFoundHelp"],
    noCamera: ["problemNoCamera", "problemNoCameraHelp"],
    noMicrophone: ["problemNoMicrophone", "problemNoMicrophoneHelp"],
    inUse: ["problemInUse", "problemInUseHelp"],
    unsupported: ["problemUnsupported", "problemUnsupportedHelp"],
    other: ["problemOther", "problemOtherHelp"],
  };

  const showProblem = (kind) => {
    if (!kind) {
      el.problem.hidden = true;
      return;
    }
    const [title, help] = PROBLEMS[kind] || PROBLEMS.other;
    el.problemTitle.textContent = T[title];
    el.problemText.textContent = T[help];
    el.problem.dataset.problem = kind;
    el.problem.hidden = false;
    show(el.retry, kind !== "unsupported");
  };

  const canCapture = () => Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);

  const audioConstraints = () => (el.microphone.value ? { deviceId: { exact: el.microphone.value } } : true);
  const videoConstraints = () => (el.camera.value ? { ...VIDEO, deviceId: { exact: el.camera.value } } : VIDEO);

  const stopTrack = (track) => {
    if (track) track.stop();
  };

  const stopAll = () => {
    stopBlur();
    for (const key of ["audio", "camera", "screen"]) {
      stopTrack(media[key]);
      media[key] = null;
    }
    flags.sharing = false;
    setPressed(el.share, false);
    stopMeter();
  };

  // Try camera and microphone, then each alone (a missing or busy camera should not keep a
  // person from joining with their microphone). Permission refused: nothing more to try.
  const capture = async () => {
    const attempts = [
      { audio: audioConstraints(), video: videoConstraints() },
      { audio: audioConstraints(), video: false },
      { audio: false, video: videoConstraints() },
    ];
    let first = null;
    for (const constraints of attempts) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(constraints);
        return { stream, problem: first };
      } catch (error) {
        warn("getUserMedia", error && error.name);
        if (!first) first = problemOf(error);
        if (first === "denied") break;
        if (problemOf(error) === "denied") {
          first = "denied";
          break;
        }
      }
    }
    return { stream: null, problem: first || "other" };
  };

  const startCheck = async () => {
    phase = "check";
    show(el.check, true);
    showProblem(null);
    el.join.disabled = true;
    el.joinAudio.disabled = true;
    el.checkState.textContent = T.checking;
    if (!canCapture()) {
      showProblem("unsupported");
      el.checkState.textContent = "";
      return;
    }
    stopAll();
    const { stream, problem } = await capture();
    if (stream) {
      media.audio = stream.getAudioTracks()[0] || null;
      media.camera = stream.getVideoTracks()[0] || null;
      if (media.audio) media.audio.enabled = !flags.muted;
    }
    if (problem === "denied") blockDevices();
    else await fillDevices();
    if (!stream) showProblem(problem);
    else if (!media.camera) showProblem(problem === "inUse" ? "inUse" : "noCamera");
    else if (!media.audio) showProblem(problem === "inUse" ? "inUse" : "noMicrophone");
    refreshPreview();
    startMeter();
    el.join.disabled = !media.camera && !media.audio;
    el.joinAudio.disabled = !media.audio;
    el.checkState.textContent = media.camera ? T.checkReady : media.audio ? T.checkAudioOnly : "";
  };

  const fillSelect = (select, devices, current, label) => {
    select.replaceChildren();
    devices.forEach((device, index) => {
      const option = document.createElement("option");
      option.value = device.deviceId;
      option.textContent = device.label || fmt(label, { n: index + 1 });
      option.selected = device.deviceId === current;
      select.appendChild(option);
    });
    if (!devices.length) {
      const option = document.createElement("option");
      option.value = "";
      option.textContent = T.noneFound;
      select.appendChild(option);
    }
    select.disabled = devices.length === 0;
  };

  // Permission refused: there is nothing to choose from until it is given.
  const blockDevices = () => {
    for (const select of [el.camera, el.microphone]) {
      const option = document.createElement("option");
      option.value = "";
      option.textContent = T.devicesBlocked;
      select.replaceChildren(option);
      select.disabled = true;
    }
  };

  const deviceIdOf = (track) => (track && track.getSettings ? track.getSettings().deviceId || "" : "");

  const fillDevices = async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch (error) {
      warn("enumerateDevices", error && error.name);
    }
    const real = (d) => d.deviceId && d.deviceId !== "default" && d.deviceId !== "communications";
    let cameras = devices.filter((d) => d.kind === "videoinput" && d.deviceId);
    let microphones = devices.filter((d) => d.kind === "audioinput" && real(d));
    if (!microphones.length) microphones = devices.filter((d) => d.kind === "audioinput" && d.deviceId);
    // Without permission, browsers list devices without ids: nothing to choose from.
    cameras = cameras.filter((d) => d.deviceId);
    fillSelect(el.camera, cameras, deviceIdOf(media.camera), T.cameraN);
    fillSelect(el.microphone, microphones, deviceIdOf(media.audio), T.microphoneN);
  };

  const switchDevice = async (kind) => {
    showProblem(null);
    try {
      if (kind === "audio") {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints(), video: false });
        const track = stream.getAudioTracks()[0];
        stopTrack(media.audio);
        media.audio = track;
        track.enabled = !flags.muted;
        startMeter();
        if (peer && peer.audioSender) await peer.audioSender.replaceTrack(track);
        else if (peer) peer.audioSender = peer.pc.addTrack(track, peer.stream);
        else if (lk) await lk.replaceAudioTrack(track);
      } else {
        stopBlur();
        stopTrack(media.camera); // phones open one camera at a time
        media.camera = null;
        const stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: videoConstraints() });
        media.camera = stream.getVideoTracks()[0];
        media.camera.enabled = !flags.cameraOff;
        if (flags.blur) await startBlur();
        refreshBlurButton();
        await refreshOutgoingVideo();
        if (phase === "check") {
          el.join.disabled = false;
          el.checkState.textContent = T.checkReady;
        }
      }
    } catch (error) {
      warn("switch device", error && error.name);
      showProblem(problemOf(error));
    }
    refreshPreview();
  };

  // The microphone level: RMS of the analyser's samples, drawn as a bar (CSS custom property).
  const meter = { context: null, source: null, analyser: null, frame: 0, said: 0 };

  const stopMeter = () => {
    window.cancelAnimationFrame(meter.frame);
    meter.frame = 0;
    if (meter.source) meter.source.disconnect();
    meter.source = null;
    el.meterBar.style.setProperty("--level", "0");
  };

  const startMeter = () => {
    stopMeter();
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!media.audio || !Context) return;
    try {
      if (!meter.context) meter.context = new Context();
      if (meter.context.state === "suspended") meter.context.resume().catch(() => {});
      meter.analyser = meter.context.createAnalyser();
      meter.analyser.fftSize = 1024;
      meter.source = meter.context.createMediaStreamSource(new MediaStream([media.audio]));
      meter.source.connect(meter.analyser);
    } catch (error) {
      warn("meter", error && error.name);
      return;
    }
    const samples = new Float32Array(meter.analyser.fftSize);
    const draw = (time) => {
      meter.analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const value of samples) sum += value * value;
      const rms = Math.sqrt(sum / samples.length);
      const level = media.audio && media.audio.enabled ? Math.min(1, rms * 4) : 0;
      el.meterBar.style.setProperty("--level", level.toFixed(3));
      if (time - meter.said > 500) {
        meter.said = time;
        el.meter.setAttribute("aria-valuenow", String(Math.round(level * 100)));
      }
      meter.frame = window.requestAnimationFrame(draw);
    };
    meter.frame = window.requestAnimationFrame(draw);
  };

  // Browsers start audio only after a gesture: resume the meter's context on the first one.
  const resumeAudio = () => {
    if (meter.context && meter.context.state === "suspended") meter.context.resume().catch(() => {});
  };
  document.addEventListener("pointerdown", resumeAudio, { capture: true });
  document.addEventListener("keydown", resumeAudio, { capture: true });

  // --- the local picture ----------------------------------------------------------------------

  const outgoingVideo = () => {
    if (flags.sharing && media.screen) return media.screen;
    if (flags.blur && media.blurred) return media.blurred;
    return media.camera;
  };

  const refreshPreview = () => {
    const track = outgoingVideo();
    const stream = track ? new MediaStream([track]) : null;
    for (const video of [el.preview, el.self]) {
      if (video.srcObject !== stream) video.srcObject = stream;
      video.classList.toggle("vr-video--screen", flags.sharing);
      video.classList.toggle("vr-video--mirror", !flags.sharing);
      if (stream) video.play().catch(() => {});
    }
    const live = Boolean(track) && !flags.cameraOff;
    el.previewBox.classList.toggle("is-live", live);
    show(el.selfOff, !live);
  };

  // Send what the outgoing video is now: replace the sender's track (no renegotiation), or
  // add a sender when there was none (audio-only so far: negotiation follows).
  const refreshOutgoingVideo = async () => {
    refreshPreview();
    if (lk) {
      await lk.replaceVideoTrack(outgoingVideo()).catch((error) => warn("livekit video", error && error.name));
      return;
    }
    if (!peer) return;
    const track = outgoingVideo();
    try {
      if (peer.videoSender) {
        await peer.videoSender.replaceTrack(track || null);
      } else if (track) {
        peer.videoSender = peer.pc.addTrack(track, peer.stream);
      }
    } catch (error) {
      warn("replaceTrack", error && error.name);
    }
  };

  const mediaState = () => ({
    type: "media",
    audio: Boolean(media.audio) && !flags.muted,
    video: Boolean(outgoingVideo()) && (flags.sharing || !flags.cameraOff),
    screen: flags.sharing,
  });

  const sendMedia = () => {
    if (peerHere) send(mediaState());
  };

  // --- 3. controls ------------------------------------------------------------------------------

  const toggleMute = () => {
    flags.muted = !flags.muted;
    if (media.audio) media.audio.enabled = !flags.muted;
    if (lk) lk.setMicrophoneEnabled(!flags.muted);
    setPressed(el.mute, flags.muted);
    say(flags.muted ? T.youMuted : T.youUnmuted);
    sendMedia();
  };

  const toggleCamera = async () => {
    if (!media.camera) {
      // Joined without a camera (or went audio only): try to start one now.
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: videoConstraints() });
        media.camera = stream.getVideoTracks()[0];
      } catch (error) {
        warn("camera", error && error.name);
        say(T[PROBLEMS[problemOf(error)][0]]);
        return;
      }
      if (!flags.receiveVideo) setVideoDirection("sendrecv");
      if (!flags.receiveVideo && lk) lk.setRemoteVideoEnabled(true);
      flags.receiveVideo = true;
      flags.cameraOff = false;
      setPressed(el.cameraToggle, false);
      refreshBlurButton();
      await refreshOutgoingVideo();
      say(T.cameraOnNow);
      sendMedia();
      return;
    }
    flags.cameraOff = !flags.cameraOff;
    for (const track of [media.camera, media.blurred]) if (track) track.enabled = !flags.cameraOff;
    if (lk) lk.setCameraEnabled(!flags.cameraOff);
    setPressed(el.cameraToggle, flags.cameraOff);
    refreshPreview();
    say(flags.cameraOff ? T.cameraOffNow : T.cameraOnNow);
    sendMedia();
  };

  const stopShare = async () => {
    if (!flags.sharing) return;
    flags.sharing = false;
    stopTrack(media.screen);
    media.screen = null;
    setPressed(el.share, false);
    await refreshOutgoingVideo();
    say(T.shareStopped);
    sendMedia();
  };

  const toggleShare = async () => {
    if (flags.sharing) {
      await stopShare();
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (error) {
      warn("getDisplayMedia", error && error.name);
      say(T.shareFailed);
      return;
    }
    media.screen = stream.getVideoTracks()[0];
    if (!media.screen) return;
    if ("contentHint" in media.screen) media.screen.contentHint = "detail";
    media.screen.addEventListener("ended", () => stopShare());
    flags.sharing = true;
    setPressed(el.share, true);
    await refreshOutgoingVideo();
    say(T.shareStarted);
    sendMedia();
  };

  const Blur = window.CaredoorBlur;
  // Asked about the camera track itself: a camera with its own blur effect counts even where
  // the page could not segment (supported(track) checks the track's capabilities).
  const blurSupported = () => {
    try {
      return Boolean(Blur && typeof Blur.supported === "function" && Blur.supported(media.camera));
    } catch (error) {
      return false;
    }
  };
  // The button follows the camera (a new camera may or may not offer its own blur); it
  // stays while blur is on, so it can be switched off.
  const refreshBlurButton = () => {
    if (phase === "room") show(el.blur, flags.blur || blurSupported());
  };

  const startBlur = async () => {
    if (!media.camera || !blurSupported()) return false;
    try {
      media.blurred = await Blur.start(media.camera);
      if (media.blurred) media.blurred.enabled = !flags.cameraOff;
      return Boolean(media.blurred);
    } catch (error) {
      warn("blur", error && error.name);
      media.blurred = null;
      return false;
    }
  };

  function stopBlur() {
    if (media.blurred) {
      media.blurred = null;
      try {
        Blur.stop();
      } catch (error) {
        warn("blur stop", error && error.name);
      }
    }
  }

  const toggleBlur = async () => {
    if (flags.blur) {
      flags.blur = false;
      stopBlur();
      say(T.blurOff);
    } else {
      el.blur.disabled = true; // the model may take a moment to load
      const started = await startBlur();
      el.blur.disabled = false;
      if (!started) {
        say(T.blurFailed);
        return;
      }
      flags.blur = true;
      say(T.blurOn);
    }
    setPressed(el.blur, flags.blur);
    await refreshOutgoingVideo();
  };

  // "Continue with audio only": stop sending and receiving video, renegotiated.
  const setVideoDirection = (direction) => {
    if (!peer) return;
    for (const transceiver of peer.pc.getTransceivers()) {
      const kind = transceiver.receiver && transceiver.receiver.track && transceiver.receiver.track.kind;
      if (kind === "video" && !transceiver.stopped && transceiver.currentDirection !== "stopped") {
        try {
          transceiver.direction = direction;
        } catch (error) {
          warn("direction", error && error.name);
        }
      }
    }
  };

  const continueAudioOnly = async () => {
    flags.receiveVideo = false;
    await stopShare();
    stopBlur();
    flags.blur = false;
    setPressed(el.blur, false);
    stopTrack(media.camera);
    media.camera = null;
    flags.cameraOff = true;
    setPressed(el.cameraToggle, true);
    await refreshOutgoingVideo();
    setVideoDirection("inactive");
    if (lk) lk.setRemoteVideoEnabled(false);
    el.remoteBox.classList.remove("has-video");
    show(el.fallback, false);
    say(T.audioOnlyNow);
    sendMedia();
  };

  // --- the other side's picture ----------------------------------------------------------------

  const remote = { audio: true, video: true, screen: false };

  const refreshRemote = () => {
    const stream = el.remote.srcObject;
    const inCall = Boolean(peer) || Boolean(lk);
    const hasVideo =
      inCall &&
      everConnected &&
      flags.receiveVideo &&
      (remote.video || remote.screen) &&
      el.remote.videoWidth > 0 && // a frame was decoded (a track's "muted" is not reliable
      // after a rolled-back offer in Chromium)
      Boolean(stream && stream.getVideoTracks().some((t) => t.readyState === "live"));
    el.remoteBox.classList.toggle("has-video", hasVideo);
    el.remote.classList.toggle("vr-video--screen", remote.screen);
    show(el.remoteMuted, inCall && peerHere && !remote.audio);
    show(el.remoteCamera, inCall && peerHere && !remote.video && !remote.screen);
    show(el.remoteScreen, inCall && peerHere && remote.screen);
  };

  const remoteNote = (text, waiting) => {
    el.remoteNote.textContent = text || "";
    el.remoteBox.classList.toggle("is-waiting", Boolean(waiting));
  };

  const playRemote = () => {
    el.remote
      .play()
      .then(() => show(el.play, false))
      .catch((error) => {
        if (error && error.name === "NotAllowedError") {
          show(el.play, true);
          say(T.playBlocked);
        }
      });
  };

  // --- the peer connection ---------------------------------------------------------------------

  const closePeer = () => {
    if (!peer) return;
    const old = peer;
    peer = null;
    window.clearTimeout(old.disconnectTimer);
    window.clearTimeout(old.watchdog);
    window.clearTimeout(old.gatherTimer);
    try {
      old.pc.close();
    } catch (error) {
      warn("close", error && error.name);
    }
    el.remote.srcObject = null;
    everConnected = false;
    endRecovery();
    refreshRemote();
  };

  const newPeer = (why) => {
    trace("new peer connection:", why);
    closePeer();
    const pc = new RTCPeerConnection({ iceServers });
    const p = {
      pc,
      makingOffer: false,
      ignoreOffer: false,
      settingAnswer: false,
      created: performance.now(),
      stream: new MediaStream(),
      remoteStream: new MediaStream(),
      audioSender: null,
      videoSender: null,
      disconnectTimer: 0,
      watchdog: 0,
      gatherTimer: 0,
      candidates: 0, // local candidates sent
    };
    peer = p;
    everConnected = false;
    if (media.audio) p.audioSender = pc.addTrack(media.audio, p.stream);
    const video = outgoingVideo();
    if (video) p.videoSender = pc.addTrack(video, p.stream);
    el.remote.srcObject = p.remoteStream;

    pc.ontrack = ({ track }) => {
      if (peer !== p) return;
      for (const old of p.remoteStream.getTracks()) {
        if (old.kind === track.kind && old !== track) p.remoteStream.removeTrack(old);
      }
      if (!p.remoteStream.getTracks().includes(track)) p.remoteStream.addTrack(track);
      track.addEventListener("unmute", refreshRemote);
      track.addEventListener("mute", refreshRemote);
      track.addEventListener("ended", refreshRemote);
      if (el.remote.srcObject !== p.remoteStream) el.remote.srcObject = p.remoteStream;
      playRemote();
      refreshRemote();
    };

    pc.onnegotiationneeded = async () => {
      if (peer !== p) return;
      try {
        p.makingOffer = true;
        await pc.setLocalDescription();
        if (peer === p && pc.localDescription) {
          trace("sent", pc.localDescription.type);
          send({ type: "signal", description: sessionDescription(pc.localDescription) });
        }
      } catch (error) {
        warn("offer", error && error.name);
      } finally {
        p.makingOffer = false;
      }
    };

    pc.onicecandidate = ({ candidate }) => {
      if (peer !== p || !candidate || !candidate.candidate) return;
      p.candidates += 1;
      send({ type: "signal", candidate: candidate.toJSON() });
    };

    // After a rolled-back offer Chromium may never gather candidates for the answer: both
    // descriptions set, no candidate of ours and ICE still "new" a moment later means it
    // will not start by itself, so restart it (a new offer, fresh gathering on both sides).
    pc.onsignalingstatechange = () => {
      if (peer !== p || pc.signalingState !== "stable" || !pc.remoteDescription) return;
      window.clearTimeout(p.gatherTimer);
      p.gatherTimer = window.setTimeout(() => {
        if (peer === p && p.candidates === 0 && pc.iceConnectionState === "new" && regathers < 2) {
          regathers += 1;
          trace("ice never started: a new connection");
          newPeer("ice never started");
        }
      }, GATHER_WITHIN);
    };

    pc.oniceconnectionstatechange = () => {
      if (peer !== p) return;
      const state = pc.iceConnectionState;
      trace("ice", state);
      window.clearTimeout(p.disconnectTimer);
      if (state === "connected" || state === "completed") {
        onConnected();
      } else if (state === "disconnected") {
        startFallback();
        p.disconnectTimer = window.setTimeout(() => {
          if (peer === p && pc.iceConnectionState === "disconnected") recover();
        }, DISCONNECTED_GRACE);
      } else if (state === "failed") {
        recover();
      }
    };

    // Not connected in time: start afresh (the impolite side first, so that the two sides
    // do not both rejoin at the same moment).
    p.watchdog = window.setTimeout(() => {
      if (peer === p && !everConnected && peerHere && phase === "room" && !recovery && stalls < 2) {
        stalls += 1;
        trace("not connected in time: rejoin");
        rejoin();
      }
    }, polite ? CONNECT_WITHIN + 10000 : CONNECT_WITHIN);
    startFallback();
    refreshRemote();
    return p;
  };

  const onConnected = () => {
    const wasTrouble = Boolean(recovery) || !everConnected;
    everConnected = true;
    stalls = 0;
    regathers = 0;
    endRecovery();
    stopFallback();
    show(el.fallback, false);
    if (!connectedOnce) {
      connectedOnce = true;
      startClock();
    }
    if (wasTrouble) send({ type: "status", state: "connected" });
    remoteNote("", false);
    say(otherTrouble ? T.otherReconnecting : T.connected);
    sendMedia();
    refreshRemote();
  };

  const onSignal = async (frame) => {
    if (!peerHere || useLiveKit) return;
    let p = peer || newPeer("signal before presence");
    const { pc } = p;
    if (frame.description) {
      const description = frame.description;
      if (
        description.type === "offer" &&
        pc.remoteDescription &&
        originOf(pc.remoteDescription.sdp) !== originOf(description.sdp)
      ) {
        // The other side started afresh (a new peer connection): so do we.
        p = newPeer("offer from a new connection");
      }
      const readyForOffer = !p.makingOffer && (p.pc.signalingState === "stable" || p.settingAnswer);
      const collision = description.type === "offer" && !readyForOffer;
      p.ignoreOffer = !polite && collision;
      if (p.ignoreOffer) {
        trace("ignored a colliding offer");
        return;
      }
      if (collision && !everConnected) {
        // The polite side yields. Before anything is connected a new peer connection is
        // cheaper and safer than a rollback (Chromium's rollback of an offer still being
        // set can leave the connection unable to gather candidates).
        p = newPeer("yield before connecting");
      }
      if (description.type === "answer" && p.pc.signalingState !== "have-local-offer") return;
      p.settingAnswer = description.type === "answer";
      try {
        await p.pc.setRemoteDescription(description);
      } finally {
        p.settingAnswer = false;
      }
      if (description.type === "offer") {
        if (!flags.receiveVideo) setVideoDirection("inactive");
        await p.pc.setLocalDescription();
        if (peer === p && p.pc.localDescription) {
          send({ type: "signal", description: sessionDescription(p.pc.localDescription) });
        }
      }
    } else if (frame.candidate && frame.candidate.candidate) {
      try {
        await p.pc.addIceCandidate(frame.candidate);
      } catch (error) {
        trace("candidate refused", error && error.name, p.ignoreOffer);
        if (!p.ignoreOffer) warn("candidate", error && error.name);
      }
    }
  };

  // --- 4. recovery -------------------------------------------------------------------------------

  const startFallback = () => {
    if (fallbackTimer || phase !== "room") return;
    fallbackTimer = window.setTimeout(() => {
      fallbackTimer = 0;
      if (phase === "room" && troubled()) {
        el.fallbackTitle.textContent = T.fallbackTitle;
        el.fallbackText.textContent = T.fallbackText;
        show(el.audioOnly, flags.receiveVideo || Boolean(media.camera));
        show(el.fallback, true);
      }
    }, FALLBACK_MS);
  };

  const isConnected = () =>
    useLiveKit ? lkState === "connected" && lkPeer : Boolean(peer) && ["connected", "completed"].includes(peer.pc.iceConnectionState);

  // Something is wrong with the call (not merely waiting for the other person to arrive).
  const troubled = () =>
    otherTrouble || Boolean(recovery) || !socket || socket.readyState !== WebSocket.OPEN || (peerHere && !isConnected());

  const stopFallback = () => {
    window.clearTimeout(fallbackTimer);
    fallbackTimer = 0;
  };

  function endRecovery() {
    if (!recovery) return;
    window.clearTimeout(recovery.timer);
    recovery = null;
  }

  const recover = () => {
    if (!peer || recovery || phase !== "room") return;
    const p = peer;
    recovery = { peer: p, timer: 0 };
    say(T.reconnecting);
    remoteNote(T.reconnecting, true);
    send({ type: "status", state: "reconnecting" });
    if (!send({ type: "ice" })) restartIce(p); // no socket now: restart with what we have
    startFallback();
    recovery.timer = window.setTimeout(() => {
      if (peer === p && !["connected", "completed"].includes(p.pc.iceConnectionState)) {
        recovery = null;
        rejoin();
      }
    }, RESTART_WITHIN);
  };

  const restartIce = (p) => {
    try {
      p.pc.setConfiguration({ ...p.pc.getConfiguration(), iceServers });
    } catch (error) {
      warn("setConfiguration", error && error.name);
    }
    if (typeof p.pc.restartIce === "function") p.pc.restartIce();
  };

  // A new socket to the same room (the server replaces the old one) and a new connection.
  const rejoin = () => {
    if (phase !== "room") return;
    say(T.reconnecting);
    closePeer();
    openSocket();
  };

  // --- LiveKit (video-livekit.js) ---------------------------------------------------------------

  const closeLiveKit = () => {
    if (lkPending) lkPending.abort();
    lkPending = null;
    if (lk) lk.disconnect();
    lk = null;
    lkState = "";
    lkPeer = false;
    everConnected = false;
  };

  // The call is connected when LiveKit is and the other person is in its room.
  const onLiveKitChange = () => {
    if (isConnected()) {
      if (!everConnected) onConnected(); // says "connected", starts the clock, status: connected
    } else {
      everConnected = false;
      if (lkState === "reconnecting") {
        send({ type: "status", state: "reconnecting" });
        say(T.reconnecting);
        remoteNote(T.reconnecting, true);
        startFallback();
      }
    }
    refreshRemote();
  };

  const startLiveKit = (config) => {
    if (lk && lkState !== "disconnected") return; // a new welcome (the socket reconnected): media goes on
    closeLiveKit();
    const remoteStream = new MediaStream();
    el.remote.srcObject = remoteStream;
    const pending = new AbortController();
    lkPending = pending;
    const mine = () => lkPending === pending || (lk && lkPending === null);
    window.CaredoorLiveKit.connect(config, { audio: media.audio, video: outgoingVideo() }, {
      element: el.remote,
      signal: pending.signal,
      onRemoteTrack: (track, kind) => {
        if (!mine()) return;
        for (const old of remoteStream.getTracks()) if (old.kind === kind && old !== track) remoteStream.removeTrack(old);
        if (!remoteStream.getTracks().includes(track)) remoteStream.addTrack(track);
        for (const name of ["unmute", "mute", "ended"]) track.addEventListener(name, refreshRemote);
        if (el.remote.srcObject !== remoteStream) el.remote.srcObject = remoteStream;
        playRemote();
        refreshRemote();
      },
      onRemoteTrackGone: () => refreshRemote(),
      onPeer: (present) => {
        if (!mine()) return;
        lkPeer = present;
        onLiveKitChange();
      },
      onState: (state) => {
        trace("livekit", state);
        if (!mine()) return;
        const dropped = state === "disconnected" && lkState !== "" && lkState !== "connecting";
        lkState = state;
        if (dropped && phase === "room") {
          lk = null;
          rejoin(); // LiveKit gave up reconnecting: a new socket, a new welcome and token
          return;
        }
        onLiveKitChange();
      },
    }).then(
      (session) => {
        if (lkPending !== pending) {
          session.disconnect();
          return;
        }
        lkPending = null;
        lk = session;
        if (flags.cameraOff) session.setCameraEnabled(false);
        if (!flags.receiveVideo) session.setRemoteVideoEnabled(false);
        onLiveKitChange();
      },
      (error) => {
        warn("livekit", error && error.name);
        if (lkPending !== pending || phase !== "room") return;
        lkPending = null;
        lastReason = "unavailable";
        finish("unavailable");
      },
    );
  };

  // --- the socket --------------------------------------------------------------------------------

  const socketUrl = () => `${window.location.protocol === "https:" ? "wss:" : "ws:"}//${window.location.host}${WS_PATH}`;

  const openSocket = () => {
    window.clearTimeout(retryTimer);
    const old = socket;
    const ws = new WebSocket(socketUrl());
    socket = ws;
    if (old && old.readyState <= WebSocket.OPEN) {
      // The server replaces it when the new one is admitted; until then it is ignored.
      window.setTimeout(() => {
        if (old.readyState <= WebSocket.OPEN) old.close(1000);
      }, 5000);
    }
    ws.addEventListener("message", (event) => {
      if (ws !== socket) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      trace("frame", frame.type, frame.event || (frame.description && frame.description.type) || (frame.candidate ? "candidate" : "") || frame.error || frame.reason || "");
      queue = queue.then(() => onFrame(frame)).catch((error) => warn("frame", frame && frame.type, error && error.name));
    });
    ws.addEventListener("open", () => {
      if (ws !== socket) return;
      window.clearInterval(pingTimer);
      pingTimer = window.setInterval(() => send({ type: "ping" }), PING_EVERY);
    });
    ws.addEventListener("close", (event) => {
      if (ws !== socket) return;
      window.clearInterval(pingTimer);
      socket = null;
      onSocketClosed(event.code);
    });
  };

  const onSocketClosed = (code) => {
    if (phase !== "room") return;
    if (FINAL_CODES.has(code) || code === 1011) {
      finish(endReasonFor(code));
      return;
    }
    // A dropped network: reconnect with backoff; the other side sees "lost" meanwhile.
    retries += 1;
    say(T.reconnecting);
    if (!peer) remoteNote(T.reconnecting, true);
    startFallback();
    const base = Math.min(MAX_RETRY, FIRST_RETRY * 2 ** (retries - 1));
    retryTimer = window.setTimeout(openSocket, base * (0.75 + Math.random() * 0.5));
  };

  const endReasonFor = (code) => {
    if (lastReason) return lastReason;
    return (
      {
        1000: "left",
        1011: "unavailable",
        4401: "signedOut",
        4403: "closed",
        4404: "not_found",
        4409: "replaced",
        4410: "over",
      }[code] || "closed"
    );
  };

  const onFrame = async (frame) => {
    switch (frame.type) {
      case "welcome":
        return onWelcome(frame);
      case "peer":
        return onPeer(frame.event);
      case "signal":
        return onSignal(frame);
      case "media":
        remote.audio = frame.audio !== false;
        remote.video = frame.video !== false;
        remote.screen = frame.screen === true;
        refreshRemote();
        return undefined;
      case "ice":
        iceServers = (frame.config && frame.config.iceServers) || iceServers;
        if (peer) restartIce(peer);
        return undefined;
      case "refused":
        lastReason = frame.reason === "unavailable" ? "unavailable" : frame.reason || "closed";
        lastOpens = frame.opens || null;
        return undefined;
      case "ended":
        lastReason = frame.reason || "over";
        return undefined;
      case "replaced":
        lastReason = "replaced";
        return undefined;
      case "error":
        warn("server said", frame.error);
        return undefined;
      default:
        return undefined;
    }
  };

  const onWelcome = (frame) => {
    retries = 0;
    lastReason = "";
    polite = frame.polite === true;
    const config = frame.config || {};
    useLiveKit = config.provider === "livekit" && Boolean(window.CaredoorLiveKit && window.CaredoorLiveKit.supported());
    if (config.provider && config.provider !== "p2p" && !useLiveKit) {
      lastReason = "unsupportedProvider";
      finish("unsupportedProvider");
      if (socket) socket.close(1000);
      return;
    }
    iceServers = Array.isArray(config.iceServers) ? config.iceServers : [];
    closePeer();
    peerHere = frame.peer === true;
    otherTrouble = false;
    if (useLiveKit) startLiveKit(config);
    if (peerHere) {
      if (!useLiveKit) newPeer("welcome");
      say(T.otherHere);
      remoteNote(T.connecting, true);
      sendMedia();
    } else {
      say(T.waiting);
      remoteNote(`${T.waiting} ${T.waitingNote}`, true);
      stopFallback();
      show(el.fallback, false);
    }
  };

  const onPeer = (event) => {
    if (event === "joined") {
      const fresh = peer && performance.now() - peer.created < FRESH_PEER_MS && !peer.pc.remoteDescription;
      peerHere = true;
      otherTrouble = false;
      if (useLiveKit) {
        // LiveKit connects the media by itself when the other side enters its room.
      } else if (!fresh) {
        newPeer("joined"); // a fresh connection each time the other side (re)joins
      } else if (peer.pc.signalingState === "have-local-offer" && peer.pc.localDescription) {
        // Kept (the same arrival told twice): the server forgets what went before a
        // "joined", so the offer already made goes again (a repeat is answered or ignored).
        trace("offer sent again");
        send({ type: "signal", description: sessionDescription(peer.pc.localDescription) });
      }
      say(T.otherHere);
      remoteNote(T.connecting, true);
      sendMedia();
    } else if (event === "left") {
      peerHere = false;
      otherTrouble = false;
      closePeer();
      stopFallback();
      show(el.fallback, false);
      remote.audio = true;
      remote.video = true;
      remote.screen = false;
      say(T.otherLeft);
      remoteNote(`${T.otherLeft} ${T.waitingNote}`, false);
      refreshRemote();
    } else if (event === "lost" || event === "reconnecting") {
      otherTrouble = true;
      if (event === "lost") peerHere = false;
      say(T.otherReconnecting);
      remoteNote(T.otherReconnecting, true);
      startFallback();
    } else if (event === "connected") {
      otherTrouble = false;
      const connected = peer && ["connected", "completed"].includes(peer.pc.iceConnectionState);
      if (connected) {
        say(T.connected);
        remoteNote("", false);
        stopFallback();
        show(el.fallback, false);
      }
    }
    refreshRemote();
    return undefined;
  };

  // --- the clock ---------------------------------------------------------------------------------

  const clockText = (ms) => {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = String(total % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  };

  const startClock = () => {
    callStart = performance.now();
    window.clearInterval(clockTimer);
    clockTimer = window.setInterval(() => {
      el.timer.textContent = clockText(performance.now() - callStart);
    }, 1000);
  };

  // --- entering and leaving ---------------------------------------------------------------------

  const enter = (audioOnly) => {
    if (audioOnly) {
      stopBlur();
      stopTrack(media.camera);
      media.camera = null;
      flags.cameraOff = true; // "Camera off" is pressed; pressing it starts the camera
    }
    stopMeter();
    phase = "room";
    show(el.check, false);
    show(el.ended, false);
    show(el.call, true);
    show(el.share, Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia));
    refreshBlurButton();
    setPressed(el.mute, flags.muted);
    setPressed(el.cameraToggle, flags.cameraOff);
    refreshPreview();
    say(T.joining);
    remoteNote(T.joining, true);
    openSocket();
  };

  const finish = (reason) => {
    if (phase === "ended") return;
    phase = "ended";
    const title = {
      left: T.youLeft,
      replaced: T.replaced,
      signedOut: T.signedOut,
      unavailable: T.unavailable,
      unsupportedProvider: T.unsupportedProvider,
    }[reason] || T[`ended_${reason}`] || T.ended_closed;
    let text = {
      left: T.youLeftText,
      replaced: T.replacedText,
      signedOut: T.signedOutText,
      unavailable: T.unavailableText,
    }[reason] || T.endedText;
    if (reason === "early" && lastOpens) {
      const opens = new Date(lastOpens);
      text = fmt(T.opensAt, { time: opens.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) });
    }
    closePeer();
    closeLiveKit();
    peerHere = false;
    stopFallback();
    window.clearInterval(clockTimer);
    window.clearInterval(pingTimer);
    window.clearTimeout(retryTimer);
    stopAll();
    refreshPreview();
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000);
    socket = null;
    show(el.call, false);
    show(el.fallback, false);
    el.endedTitle.textContent = title;
    el.endedText.textContent = text;
    show(el.rejoin, ["left", "replaced", "unavailable"].includes(reason));
    show(el.ended, true);
    say(title);
    el.ended.focus();
  };

  const leave = () => {
    send({ type: "leave" });
    lastReason = "left";
    finish("left");
  };

  // --- wiring ---------------------------------------------------------------------------------

  el.retry.addEventListener("click", () => startCheck());
  el.camera.addEventListener("change", () => switchDevice("video"));
  el.microphone.addEventListener("change", () => switchDevice("audio"));
  el.join.addEventListener("click", () => enter(false));
  el.joinAudio.addEventListener("click", () => enter(true));
  el.mute.addEventListener("click", toggleMute);
  el.cameraToggle.addEventListener("click", () => toggleCamera());
  el.share.addEventListener("click", () => toggleShare());
  el.blur.addEventListener("click", () => toggleBlur());
  el.hangup.addEventListener("click", leave);
  el.audioOnly.addEventListener("click", () => continueAudioOnly());
  el.play.addEventListener("click", playRemote);
  el.rejoin.addEventListener("click", () => {
    lastReason = "";
    connectedOnce = false;
    el.timer.textContent = clockText(0);
    show(el.ended, false);
    startCheck();
  });
  // "End the call" (the specialist of an ad-hoc call; the form posts to the end view): in
  // the call, the page leaves the room first, so the other side hears "left" at once and
  // this socket is not counted as present, then posts once the socket has closed (or after
  // a moment, whatever the socket does).
  const endForm = $("vr-end-form");
  if (endForm) {
    let ending = false;
    endForm.addEventListener("submit", (event) => {
      if (ending) {
        event.preventDefault();
        return;
      }
      ending = true;
      if (phase !== "room") return; // not in the call: nothing to leave, post as it is
      event.preventDefault();
      for (const button of document.querySelectorAll('[form="vr-end-form"]')) button.disabled = true;
      const ws = socket;
      leave();
      show(el.rejoin, false);
      el.endedTitle.textContent = T.ending;
      el.endedText.textContent = "";
      say(T.ending);
      trace("end call");
      let posted = false;
      const post = () => {
        if (posted) return;
        posted = true;
        endForm.submit();
      };
      if (ws && ws.readyState !== WebSocket.CLOSED) {
        ws.addEventListener("close", post);
        window.setTimeout(post, 1500);
      } else {
        post();
      }
    });
  }
  el.remote.addEventListener("resize", refreshRemote);
  el.remote.addEventListener("loadeddata", refreshRemote);
  window.addEventListener("pagehide", () => {
    if (phase === "room") send({ type: "leave" });
  });
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", () => fillDevices());
  }

  // For tests and support: the state of the call, without any personal data.
  window.CaredoorVideo = {
    trace: () => events.slice(),
    // Counters of the current connection: packets and frames per direction and kind.
    stats: async () => {
      if (lk) return lk.stats();
      if (!peer) return null;
      const out = {};
      (await peer.pc.getStats()).forEach((report) => {
        if (report.type !== "inbound-rtp" && report.type !== "outbound-rtp") return;
        out[`${report.type}-${report.kind}`] = {
          bytes: report.bytesReceived || report.bytesSent || 0,
          frames: report.framesDecoded || report.framesEncoded || 0,
          packets: report.packetsReceived || report.packetsSent || 0,
        };
      });
      return out;
    },
    state: () => ({
      phase,
      peerHere,
      polite,
      ice: peer ? peer.pc.iceConnectionState : lkState ? `livekit ${lkState}` : "none",
      signaling: peer ? peer.pc.signalingState : "none",
      remote: { ...remote },
      local: mediaState(),

    }),
  };

  startCheck();
})();
