// The room page's LiveKit path (docs/video.md "Providers"; /tmp/docs/video-livekit.md).
//
// With VIDEO_PROVIDER=livekit the signaling socket's welcome carries
// config = {provider: "livekit", url: "wss://...", token: "<JWT>"}: media then goes through
// the LiveKit server (an SFU) instead of one RTCPeerConnection between the two browsers.
// LiveKit does its own signaling, ICE and reconnection; Caredoor's signaling socket is
// still used for presence, the media states ("media" frames) and the end of the room.
//
// Needs the vendored SDK (caredoor/vendor/livekit/livekit-client.umd.js, window.LivekitClient)
// loaded before this file. Exposes:
//
//   window.CaredoorLiveKit.supported() -> boolean
//   window.CaredoorLiveKit.connect(config, localTracks, handlers) -> Promise<session>
//
//   localTracks: {audio: MediaStreamTrack|null, video: MediaStreamTrack|null}. The page keeps
//     owning them: LiveKit never stops them (not on mute, unpublish nor disconnect). A track
//     whose `enabled` is false is published muted.
//   handlers (all optional):
//     onRemoteTrack(track: MediaStreamTrack, kind: "audio"|"video")
//     onRemoteTrackGone(kind)
//     onState("connecting"|"connected"|"reconnecting"|"disconnected"): the link to the
//       LiveKit server, not whether the other person is there (see onPeer)
//     onPeer(present: boolean): another participant is in the LiveKit room (joined, left);
//       told once after joining when someone is already there
//     signal: an AbortSignal; aborting it while connecting disconnects and rejects
//       (AbortError), e.g. when the other side leaves or the page ends the call meanwhile.
//     element: the <video> showing the other person. Remote tracks are attached to it
//       (track.attach), after onRemoteTrack, so that LiveKit's adaptive stream sees how large
//       and whether visible the picture is; without an element adaptive stream is off (it
//       would pause a video attached nowhere).
//   session: replaceVideoTrack(track|null), replaceAudioTrack(track|null),
//     setMicrophoneEnabled(bool), setCameraEnabled(bool), setRemoteVideoEnabled(bool) (false:
//     "Continue with audio only", the other side's video is unsubscribed, so the server stops
//     sending it), disconnect(), state(), stats()
//
// connect() resolves once the room is joined and the local tracks are published; it rejects
// (after onState("disconnected")) when LiveKit cannot be reached or refuses the token, when
// the connection does not come up within CONNECT_WITHIN, or when `signal` aborts. Nothing
// here logs personal data: console.warn gets error names only.
(() => {
  "use strict";

  const CONNECT_WITHIN = 20000; // LiveKit's own websocket and peer connection timeouts are 15 s
  const warn = (...args) => console.warn("video livekit:", ...args);

  const LK = () => window.LivekitClient;

  const supported = () => {
    const lk = LK();
    try {
      return Boolean(lk && typeof lk.Room === "function" && lk.isBrowserSupported());
    } catch (error) {
      return false;
    }
  };

  const failure = (name, message) => {
    const error = new Error(message);
    error.name = name;
    return error;
  };

  const connect = (config, localTracks, handlers) => {
    const lk = LK();
    const on = handlers || {};
    const tracks = localTracks || {};
    if (!supported()) return Promise.reject(failure("NotSupportedError", "LiveKit is not available here"));
    if (!config || config.provider !== "livekit" || !config.url || !config.token) {
      return Promise.reject(failure("TypeError", "not a LiveKit configuration"));
    }
    if (on.signal && on.signal.aborted) return Promise.reject(failure("AbortError", "aborted before connecting"));
    const element = on.element || null;
    // LiveKit's own console output: warnings and errors only (its info lines name rooms and
    // participants' identities; the page's console is not for that).
    if (typeof lk.setLogLevel === "function") lk.setLogLevel("warn");
    const { Room, RoomEvent, Track, LocalAudioTrack, LocalVideoTrack } = lk;
    const room = new Room({
      adaptiveStream: Boolean(element),
      dynacast: true,
      // The page owns its camera and microphone (device choice, blur, screen sharing):
      // LiveKit must not stop them when it unpublishes or disconnects.
      stopLocalTrackOnUnpublish: false,
    });

    let state = "";
    let closed = false; // disconnect() called, or the room is gone for good
    const setState = (next) => {
      if (state === next || (state === "disconnected" && next !== "disconnected")) return;
      state = next;
      if (typeof on.onState === "function") {
        try {
          on.onState(next);
        } catch (error) {
          warn("onState", error && error.name);
        }
      }
    };
    const call = (name, ...args) => {
      if (typeof on[name] !== "function") return;
      try {
        on[name](...args);
      } catch (error) {
        warn(name, error && error.name);
      }
    };

    // --- the other side's tracks ---------------------------------------------------------------

    let receiveVideo = true;
    const remoteKind = (track) => (track && (track.kind === "audio" || track.kind === "video") ? track.kind : "");
    room.on(RoomEvent.TrackSubscribed, (track, publication) => {
      const kind = remoteKind(track);
      if (!kind || !track.mediaStreamTrack) return;
      if (kind === "video" && !receiveVideo) {
        publication.setSubscribed(false); // audio only: the server stops sending it
        return;
      }
      call("onRemoteTrack", track.mediaStreamTrack, kind);
      if (element) {
        try {
          track.attach(element);
        } catch (error) {
          warn("attach", error && error.name);
        }
      }
    });
    room.on(RoomEvent.TrackUnsubscribed, (track) => {
      const kind = remoteKind(track);
      if (!kind) return;
      if (element) {
        try {
          track.detach(element);
        } catch (error) {
          warn("detach", error && error.name);
        }
      }
      call("onRemoteTrackGone", kind);
    });
    const remoteVideo = (on) => {
      receiveVideo = on;
      for (const participant of room.remoteParticipants.values()) {
        for (const publication of participant.trackPublications.values()) {
          if (publication.kind === "video") publication.setSubscribed(on);
        }
      }
    };
    room.on(RoomEvent.ParticipantConnected, () => call("onPeer", true));
    room.on(RoomEvent.ParticipantDisconnected, () => call("onPeer", room.remoteParticipants.size > 0));

    // --- the connection ----------------------------------------------------------------------------

    room.on(RoomEvent.Reconnecting, () => setState("reconnecting"));
    room.on(RoomEvent.Reconnected, () => setState("connected"));
    room.on(RoomEvent.Disconnected, () => {
      closed = true;
      setState("disconnected");
    });

    // --- our tracks ----------------------------------------------------------------------------------

    const published = { audio: null, video: null }; // LocalAudioTrack / LocalVideoTrack
    const SOURCE = { audio: Track.Source.Microphone, video: Track.Source.Camera };
    let work = Promise.resolve(); // track changes one after the other

    // A LiveKit track around the page's own track, muted before it is published when the
    // page has it disabled (LiveKit would otherwise enable it and announce it unmuted).
    const publish = async (kind, mediaTrack) => {
      const enabled = mediaTrack.enabled;
      const local =
        kind === "audio" ? new LocalAudioTrack(mediaTrack, undefined, true) : new LocalVideoTrack(mediaTrack, undefined, true);
      if (!enabled) await local.mute();
      await room.localParticipant.publishTrack(local, { source: SOURCE[kind] });
      published[kind] = local;
    };

    const unpublish = async (kind) => {
      const local = published[kind];
      published[kind] = null;
      if (local) await room.localParticipant.unpublishTrack(local, false);
    };

    const replace = (kind, mediaTrack) => {
      const step = async () => {
        if (closed) return;
        const local = published[kind];
        if (!mediaTrack) {
          await unpublish(kind);
        } else if (!local) {
          await publish(kind, mediaTrack);
        } else if (local.mediaStreamTrack !== mediaTrack) {
          // LiveKit keeps the publication's muted state: a muted track stays disabled.
          await local.replaceTrack(mediaTrack, { userProvidedTrack: true });
        }
      };
      work = work.then(step, step);
      return work;
    };

    const setEnabled = (kind, on) => {
      const step = async () => {
        const local = published[kind];
        if (!local || closed) return;
        if (on) await local.unmute();
        else await local.mute();
      };
      work = work.then(step, step);
      return work;
    };

    const disconnect = async () => {
      if (closed && state === "disconnected") return;
      closed = true;
      try {
        await room.disconnect(false); // false: the page's tracks are not stopped
      } catch (error) {
        warn("disconnect", error && error.name);
      }
      setState("disconnected");
    };

    const session = {
      replaceVideoTrack: (track) => replace("video", track || null),
      replaceAudioTrack: (track) => replace("audio", track || null),
      setMicrophoneEnabled: (on) => setEnabled("audio", Boolean(on)),
      setCameraEnabled: (on) => setEnabled("video", Boolean(on)),
      setRemoteVideoEnabled: (on) => remoteVideo(Boolean(on)),
      disconnect,
      // For tests and support: no names, no identities.
      state: () => ({
        state,
        room: room.state,
        remoteParticipants: room.remoteParticipants.size,
        published: { audio: Boolean(published.audio), video: Boolean(published.video) },
      }),
      stats: async () => {
        const out = {};
        const add = async (key, track) => {
          if (!track || typeof track.getRTCStatsReport !== "function") return;
          const report = await track.getRTCStatsReport();
          if (!report) return;
          report.forEach((entry) => {
            if (entry.type !== "inbound-rtp" && entry.type !== "outbound-rtp") return;
            const bucket = out[key] || { bytes: 0, frames: 0, packets: 0 };
            bucket.bytes += entry.bytesReceived || entry.bytesSent || 0;
            bucket.frames += entry.framesDecoded || entry.framesEncoded || 0;
            bucket.packets += entry.packetsReceived || entry.packetsSent || 0;
            out[key] = bucket;
          });
        };
        await add("outbound-rtp-audio", published.audio);
        await add("outbound-rtp-video", published.video);
        for (const participant of room.remoteParticipants.values()) {
          for (const publication of participant.trackPublications.values()) {
            if (publication.track) await add(`inbound-rtp-${publication.kind}`, publication.track);
          }
        }
        return out;
      },
    };

    // --- joining ---------------------------------------------------------------------------------------

    setState("connecting");
    let timer = 0;
    let onAbort = null;
    const timeout = new Promise((resolve, reject) => {
      timer = window.setTimeout(() => reject(failure("TimeoutError", "LiveKit did not connect in time")), CONNECT_WITHIN);
      if (on.signal) {
        onAbort = () => reject(failure("AbortError", "aborted while connecting"));
        on.signal.addEventListener("abort", onAbort, { once: true });
      }
    });
    const settle = () => {
      window.clearTimeout(timer);
      if (onAbort) on.signal.removeEventListener("abort", onAbort);
    };
    const join = (async () => {
      await room.connect(config.url, config.token, { autoSubscribe: true });
      if (closed) throw failure("AbortError", "disconnected while connecting");
      if (tracks.audio) await replace("audio", tracks.audio);
      if (tracks.video) await replace("video", tracks.video);
      if (closed) throw failure("AbortError", "disconnected while connecting");
      return session;
    })();
    join.catch(() => {}); // it may lose the race below: its rejection is handled there
    return Promise.race([join, timeout]).then(
      (result) => {
        settle();
        setState("connected");
        if (room.remoteParticipants.size > 0) call("onPeer", true);
        return result;
      },
      async (error) => {
        settle();
        warn("connect", error && error.name);
        await disconnect();
        throw error;
      },
    );
  };

  window.CaredoorLiveKit = { supported, connect };
})();
