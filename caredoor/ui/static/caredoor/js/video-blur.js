/*
 * Background blur for a camera track, done in the browser (issue 7).
 *
 *   window.CaredoorBlur.supported([track]) -> boolean
 *   window.CaredoorBlur.start(track)       -> Promise<MediaStreamTrack>
 *   window.CaredoorBlur.stop()             -> void
 *   window.CaredoorBlur.stats()            -> what the processing does (diagnostics)
 *
 * start() first asks the camera itself: when the track offers the platform's own effect
 * (getCapabilities().backgroundBlur includes true) it is switched on and the same track comes
 * back. Otherwise every camera frame goes through MediaPipe's selfie segmentation (WebAssembly,
 * served from our static files, CPU delegate) and a canvas composes the person from the sharp
 * frame over a blurred copy of it; the canvas's captureStream() track comes back. The caller
 * keeps the camera track: it sends the returned track instead (RTCRtpSender.replaceTrack)
 * and sends the camera track again after stop(). stop() ends a returned canvas track; when
 * the camera's own effect was used, it only switches the effect off. It never stops the
 * camera track.
 *
 * Nothing leaves the browser: no frame, no mask, no timing. Include before video.js:
 *   <script src="{% static 'caredoor/js/video-blur.js' %}" defer></script>
 * The vendored files are found next to this file (../vendor/mediapipe/); a page may point
 * elsewhere with data-vendor="<url ending in />" on that script element.
 * Needs 'wasm-unsafe-eval' in the page's script-src (caredoor/config/settings.py).
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const VENDOR = new URL(
    (script && script.dataset.vendor) || "../vendor/mediapipe/",
    (script && script.src) || document.baseURI,
  ).href;
  const FILES = {
    bundle: VENDOR + "tasks-vision/vision_bundle.mjs",
    wasmLoaderPath: VENDOR + "tasks-vision/vision_wasm_internal.js",
    wasmBinaryPath: VENDOR + "tasks-vision/vision_wasm_internal.wasm",
    general: VENDOR + "selfie_segmentation/selfie_segmentation.tflite", // 256x256 input
    landscape: VENDOR + "selfie_segmentation/selfie_segmentation_landscape.tflite", // 256x144
  };

  const BLUR_PX = 12; // the background's blur at 640 px frame width; scaled with the width
  const BG_SCALE = 4; // the background is blurred at a quarter of the frame's size
  const BOX_PASSES = 3; // without ctx.filter: three box blurs, close to a Gaussian
  const LOW_FPS = 15; // where processing drops to when the CPU cannot keep the camera's rate
  const SMALL_WIDTH = 640; // and the picture's width, when even 15 fps are too much for it
  const MASK_KEEP = 0.35; // share of the previous mask in the next one (less flicker)
  const MASK_LOW = 0.3; // confidence below which a pixel is all background ...
  const MASK_HIGH = 0.7; // ... and above which it is all person; soft in between

  // A tiny module that uses SIMD instructions (i8x16.splat, i8x16.popcnt).
  const SIMD_PROBE = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0,
    253, 15, 253, 98, 11,
  ]);

  let canSegment = null; // cached answer of segmentationSupported()
  let visionModule = null; // the promise of the imported tasks-vision module
  let generation = 0; // bumped by stop(): a start() still loading sees it and gives up
  let current = null; // what runs now: {mode: "native", source} or a segmentation Pipeline

  function nativeBlurOffered(track) {
    if (!track || typeof track.getCapabilities !== "function") return false;
    try {
      const offered = track.getCapabilities().backgroundBlur;
      return Array.isArray(offered) ? offered.includes(true) : offered === true;
    } catch (_error) {
      return false;
    }
  }

  // applyConstraints replaces every constraint of the track: keep the caller's (size, rate).
  function withBlur(track, on) {
    const constraints = typeof track.getConstraints === "function" ? track.getConstraints() : {};
    return Object.assign({}, constraints, { backgroundBlur: on });
  }

  function segmentationSupported() {
    if (canSegment !== null) return canSegment;
    canSegment = false;
    try {
      // Compiling (not only validating) also asks the page's CSP: browsers that do not know
      // 'wasm-unsafe-eval' (Chrome < 97, Firefox < 102) refuse here.
      if (typeof WebAssembly !== "object") return false;
      new WebAssembly.Module(SIMD_PROBE);
      const canvas = document.createElement("canvas");
      if (typeof canvas.captureStream !== "function") return false;
      if (typeof HTMLVideoElement === "undefined" || !window.CanvasRenderingContext2D) return false;
      const gl = canvas.getContext("webgl2"); // the segmenter hands frames over as textures
      if (!gl) return false;
      const lose = gl.getExtension("WEBGL_lose_context");
      if (lose) lose.loseContext();
      canSegment = true;
    } catch (_error) {
      canSegment = false;
    }
    return canSegment;
  }

  function supported(track) {
    return nativeBlurOffered(track) || segmentationSupported();
  }

  function aborted() {
    return new DOMException("Background blur was stopped before it started.", "AbortError");
  }

  function loadVision() {
    if (!visionModule) {
      visionModule = import(FILES.bundle).catch((error) => {
        visionModule = null;
        throw error;
      });
    }
    return visionModule;
  }

  // MediaPipe's WebAssembly prints its progress (stdout) and its info lines (stderr, as
  // console.error); real failures reject or throw. Both go to the browser's verbose level.
  function quiet(...parts) {
    console.debug("[mediapipe]", ...parts);
  }

  async function createSegmenter(landscape) {
    const vision = await loadVision();
    const before = window.Module;
    window.Module = { print: quiet, printErr: quiet }; // read once by the WebAssembly's loader
    try {
      return await vision.ImageSegmenter.createFromOptions(
        { wasmLoaderPath: FILES.wasmLoaderPath, wasmBinaryPath: FILES.wasmBinaryPath },
        {
          baseOptions: {
            modelAssetPath: landscape ? FILES.landscape : FILES.general,
            delegate: "CPU",
          },
          runningMode: "VIDEO",
          outputConfidenceMasks: true,
          outputCategoryMask: false,
        },
      );
    } finally {
      window.Module = before;
      // MediaPipe adds its loader's <script> for every task it makes; it has run by now.
      for (const element of document.querySelectorAll("script[src]")) {
        if (element.src === FILES.wasmLoaderPath) element.remove();
      }
    }
  }

  function filterWorks(ctx) {
    if (typeof ctx.filter !== "string") return false;
    ctx.filter = "blur(2px)";
    const works = ctx.filter === "blur(2px)";
    ctx.filter = "none";
    return works;
  }

  async function waitForVideo(video) {
    video.muted = true;
    video.playsInline = true;
    if (!(video.readyState >= 2 && video.videoWidth)) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("The camera sent no frame.")), 10000);
        video.addEventListener(
          "loadeddata",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
    await video.play();
  }

  function sizeOf(track, video) {
    const settings = typeof track.getSettings === "function" ? track.getSettings() : {};
    return {
      width: video.videoWidth || settings.width || 640,
      height: video.videoHeight || settings.height || 480,
      fps: Math.max(1, Math.round(settings.frameRate || 30)),
    };
  }

  class Pipeline {
    constructor(source, video, segmenter, landscape, size) {
      this.mode = "segmentation";
      this.source = source;
      this.video = video;
      this.segmenter = segmenter;
      this.cameraFps = Math.min(60, size.fps);
      this.targetFps = this.cameraFps;
      this.running = true;
      this.frameHandle = null;
      this.timer = null;
      this.credit = 1;
      this.lastTimestamp = 0;
      this.lastMediaTime = -1;
      this.costMs = 0; // moving average of one frame's processing time
      this.segmentMs = 0; // ... of its segmentation (the rest is compositing)
      this.frames = 0;
      this.outputTimes = [];
      this.reduced = false; // the picture made SMALL_WIDTH wide for speed
      this.steady = 0; // frames measured since the rate or size last changed

      // The segmenter's input: the frame shrunk to the model's size.
      this.small = document.createElement("canvas");
      this.small.width = 256;
      this.small.height = landscape ? 144 : 256;
      this.smallCtx = this.small.getContext("2d");
      // The person mask at the model's size (alpha = person), and the mask of the last frame.
      this.mask = document.createElement("canvas");
      this.mask.width = this.small.width;
      this.mask.height = this.small.height;
      this.maskCtx = this.mask.getContext("2d");
      this.maskPixels = this.maskCtx.createImageData(this.mask.width, this.mask.height);
      this.previous = new Float32Array(this.mask.width * this.mask.height);
      for (let i = 0; i < this.maskPixels.data.length; i += 4) {
        this.maskPixels.data[i] = this.maskPixels.data[i + 1] = this.maskPixels.data[i + 2] = 255;
      }
      // The blurred background, drawn small (cheap) and scaled up.
      this.background = document.createElement("canvas");
      this.canFilter = filterWorks(document.createElement("canvas").getContext("2d"));
      this.backgroundCtx = this.background.getContext("2d", {
        willReadFrequently: !this.canFilter, // blurred in JavaScript then
      });
      this.blurBuffer = null;
      // The output.
      this.canvas = document.createElement("canvas");
      this.ctx = this.canvas.getContext("2d");
      this.resize(size.width, size.height);
      this.stream = this.canvas.captureStream(this.cameraFps);
      this.track = this.stream.getVideoTracks()[0];
      if (typeof this.track.contentHint === "string") this.track.contentHint = "motion";

      this.onSourceEnded = () => this.sourceEnded();
      source.addEventListener("ended", this.onSourceEnded);
      this.onVisibility = () => this.schedule();
      document.addEventListener("visibilitychange", this.onVisibility);
      this.compose(); // a first frame at once, so the track is never black
      this.schedule();
    }

    resize(width, height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.background.width = Math.max(1, Math.round(width / BG_SCALE));
      this.background.height = Math.max(1, Math.round(height / BG_SCALE));
      // CSS blur(r) is a Gaussian of standard deviation r; at a quarter of the size, a quarter.
      this.blurPx = Math.max(1, Math.round((BLUR_PX * width) / 640 / BG_SCALE));
      this.blurBuffer = null;
    }

    schedule() {
      if (!this.running) return;
      this.cancelSchedule();
      const visible = document.visibilityState === "visible";
      if (visible && typeof this.video.requestVideoFrameCallback === "function") {
        // Once per camera frame while the page is shown; the timer below only guards against
        // a page hidden meanwhile (hidden pages get no video frame callbacks).
        this.frameHandle = this.video.requestVideoFrameCallback((now, metadata) =>
          this.onFrame(now, metadata),
        );
        this.timer = setTimeout(() => this.onFrame(performance.now(), null), 250);
      } else {
        this.timer = setTimeout(
          () => this.onFrame(performance.now(), null),
          Math.round(1000 / this.targetFps),
        );
      }
    }

    cancelSchedule() {
      if (this.frameHandle !== null) {
        this.video.cancelVideoFrameCallback(this.frameHandle);
        this.frameHandle = null;
      }
      if (this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
      }
    }

    onFrame(now, metadata) {
      this.cancelSchedule(); // whichever of the two fired, the other is not wanted now
      if (!this.running) return;
      if (this.track.readyState === "ended") {
        // The caller stopped the returned track: nothing to make frames for.
        stopPipeline(this);
        if (current === this) current = null;
        return;
      }
      if (!this.track.enabled) {
        // The caller turned the picture off (it sends black frames): no work until it is on.
        this.schedule();
        return;
      }
      const fresh = !metadata || metadata.mediaTime !== this.lastMediaTime;
      if (fresh && metadata) {
        this.lastMediaTime = metadata.mediaTime;
        // Per camera frame, targetFps / cameraFps of a frame's credit: at the camera's rate
        // every frame is processed, at 15 of 20 fps three frames in four.
        this.credit = Math.min(1.5, this.credit + this.targetFps / this.cameraFps);
      } else if (fresh) {
        this.credit = 1; // the timer (hidden page) already runs at the target rate
      }
      if (fresh && this.credit >= 0.999 && this.video.readyState >= 2) {
        this.credit -= 1;
        try {
          this.process(now);
        } catch (error) {
          // A frame that fails is skipped; the output keeps its last good frame.
          console.warn("Background blur skipped a frame:", error && error.message);
        }
      }
      this.schedule();
    }

    process(now) {
      const started = performance.now();
      let width = this.video.videoWidth;
      let height = this.video.videoHeight;
      if (!width || !height) return;
      if (this.reduced && width > SMALL_WIDTH) {
        height = Math.round((height * SMALL_WIDTH) / width);
        width = SMALL_WIDTH;
      }
      if (width !== this.canvas.width || height !== this.canvas.height) {
        this.resize(width, height);
      }
      this.smallCtx.drawImage(this.video, 0, 0, this.small.width, this.small.height);
      const timestamp = Math.max(now, this.lastTimestamp + 1);
      this.lastTimestamp = timestamp;
      this.segmenter.segmentForVideo(this.small, timestamp, (result) => {
        const masks = result.confidenceMasks;
        if (masks && masks.length) this.updateMask(masks[0].getAsFloat32Array());
      });
      const segmented = performance.now();
      this.compose();
      this.measure(performance.now() - started, segmented - started, now);
    }

    updateMask(confidence) {
      const pixels = this.maskPixels.data;
      const previous = this.previous;
      const count = Math.min(confidence.length, previous.length);
      const span = MASK_HIGH - MASK_LOW;
      for (let i = 0; i < count; i++) {
        const value = previous[i] * MASK_KEEP + confidence[i] * (1 - MASK_KEEP);
        previous[i] = value;
        const person = (value - MASK_LOW) / span;
        pixels[i * 4 + 3] = person <= 0 ? 0 : person >= 1 ? 255 : Math.round(person * 255);
      }
      this.maskCtx.putImageData(this.maskPixels, 0, 0);
    }

    compose() {
      const { ctx, canvas, video, background, backgroundCtx } = this;
      const width = canvas.width;
      const height = canvas.height;
      // 1. the blurred background, small
      if (this.canFilter) {
        // The blur fades out at the picture's edges: the frame itself goes underneath (no
        // see-through border, nothing left of the last frame) and the blurred copy is drawn
        // a little larger (three standard deviations on each side).
        backgroundCtx.drawImage(video, 0, 0, background.width, background.height);
        const pad = this.blurPx * 3;
        backgroundCtx.filter = `blur(${this.blurPx}px)`;
        backgroundCtx.drawImage(
          video,
          -pad,
          -pad,
          background.width + 2 * pad,
          background.height + 2 * pad,
        );
        backgroundCtx.filter = "none";
      } else {
        // Where ctx.filter is missing (Safari): box blurs in JavaScript on the small copy.
        backgroundCtx.drawImage(video, 0, 0, background.width, background.height);
        const image = backgroundCtx.getImageData(0, 0, background.width, background.height);
        if (!this.blurBuffer || this.blurBuffer.length !== image.data.length) {
          this.blurBuffer = new Uint8ClampedArray(image.data.length);
        }
        // Three box blurs of radius r have the variance of a Gaussian of sigma ~ r.
        boxBlur(image, this.blurBuffer, this.blurPx, BOX_PASSES);
        backgroundCtx.putImageData(image, 0, 0);
      }
      // 2. the mask, 3. the sharp person inside it, 4. the background behind
      ctx.save();
      ctx.imageSmoothingEnabled = true;
      ctx.globalCompositeOperation = "copy";
      ctx.drawImage(this.mask, 0, 0, width, height);
      ctx.globalCompositeOperation = "source-in";
      ctx.drawImage(video, 0, 0, width, height);
      ctx.globalCompositeOperation = "destination-over";
      ctx.imageSmoothingQuality = "medium";
      ctx.drawImage(background, 0, 0, width, height);
      ctx.restore();
    }

    measure(cost, segmentation, now) {
      this.frames += 1;
      this.outputTimes.push(now);
      while (this.outputTimes.length && now - this.outputTimes[0] > 1000) this.outputTimes.shift();
      if (this.frames <= 3) return; // the first frames include the model's warm-up
      this.costMs = this.costMs ? this.costMs * 0.9 + cost * 0.1 : cost;
      this.segmentMs = this.segmentMs ? this.segmentMs * 0.9 + segmentation * 0.1 : segmentation;
      this.steady += 1;
      if (this.steady < 10) return; // ten frames at least between two changes
      const budget = 1000 / this.cameraFps;
      const before = [this.targetFps, this.reduced];
      if (this.targetFps > LOW_FPS && this.costMs > budget * 0.8) {
        this.targetFps = Math.min(LOW_FPS, this.cameraFps);
      } else if (this.targetFps < this.cameraFps && this.costMs < budget * 0.5) {
        this.targetFps = this.cameraFps;
      } else if (
        !this.reduced &&
        this.targetFps <= LOW_FPS &&
        this.costMs > (1000 / LOW_FPS) * 0.8 &&
        this.canvas.width > SMALL_WIDTH
      ) {
        // Too slow even at 15 fps: a smaller picture (fewer pixels to compose) from now on,
        // until stop(); the time is measured afresh.
        this.reduced = true;
        this.costMs = 0;
        this.segmentMs = 0;
      }
      if (before[0] !== this.targetFps || before[1] !== this.reduced) this.steady = 0;
    }

    sourceEnded() {
      // The camera went away: end the blurred track too, and say so like a camera track would.
      const track = this.track;
      stopPipeline(this);
      if (current === this) current = null;
      track.dispatchEvent(new Event("ended"));
    }

    stats() {
      return {
        mode: this.mode,
        cameraFps: this.cameraFps,
        targetFps: this.targetFps,
        fps: this.outputTimes.length,
        frames: this.frames,
        processingMs: Math.round(this.costMs * 10) / 10,
        segmentationMs: Math.round(this.segmentMs * 10) / 10,
        maskSize: [this.mask.width, this.mask.height],
        size: [this.canvas.width, this.canvas.height],
      };
    }
  }

  // One box blur along lines of `length` pixels (`step` bytes apart), `lines` of them
  // (`lineStep` bytes apart), from `source` into `target`; edges repeat the edge pixel.
  function boxLine(source, target, length, lines, radius, step, lineStep) {
    const size = radius * 2 + 1;
    const last = length - 1;
    for (let line = 0; line < lines; line++) {
      const base = line * lineStep;
      for (let channel = 0; channel < 3; channel++) {
        const at = base + channel;
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          sum += source[at + Math.min(last, Math.max(0, k)) * step];
        }
        for (let i = 0; i < length; i++) {
          target[at + i * step] = sum / size;
          const leaving = Math.max(0, i - radius);
          const entering = Math.min(last, i + radius + 1);
          sum += source[at + entering * step] - source[at + leaving * step];
        }
      }
      for (let i = 0; i < length; i++) target[base + i * step + 3] = 255;
    }
  }

  function boxBlur(image, buffer, radius, passes) {
    const { width, height, data } = image;
    for (let pass = 0; pass < passes; pass++) {
      boxLine(data, buffer, width, height, radius, 4, width * 4); // rows
      boxLine(buffer, data, height, width, radius, width * 4, 4); // columns
    }
  }

  function stopPipeline(pipeline) {
    if (!pipeline.running) return;
    pipeline.running = false;
    pipeline.cancelSchedule();
    pipeline.source.removeEventListener("ended", pipeline.onSourceEnded);
    document.removeEventListener("visibilitychange", pipeline.onVisibility);
    pipeline.track.stop();
    try {
      pipeline.segmenter.close();
    } catch (_error) {
      // already closed
    }
    pipeline.video.pause();
    pipeline.video.srcObject = null;
    for (const canvas of [pipeline.canvas, pipeline.small, pipeline.mask, pipeline.background]) {
      canvas.width = 0; // lets the browser drop the canvas's memory now
      canvas.height = 0;
    }
    pipeline.previous = null;
    pipeline.maskPixels = null;
  }

  async function start(track) {
    if (!track || track.kind !== "video" || track.readyState === "ended") {
      throw new TypeError("CaredoorBlur.start needs a live video track.");
    }
    if (current && current.source === track) {
      return current.mode === "native" ? current.source : current.track;
    }
    stop();
    const mine = generation;

    if (nativeBlurOffered(track)) {
      try {
        await track.applyConstraints(withBlur(track, true));
        if (mine !== generation) throw aborted();
        current = { mode: "native", source: track };
        return track;
      } catch (error) {
        if (mine !== generation) throw error;
        // The platform refused: fall through to our own processing.
      }
    }
    if (!segmentationSupported()) {
      throw new DOMException("Background blur is not available in this browser.", "NotSupportedError");
    }

    const video = document.createElement("video");
    video.srcObject = new MediaStream([track]);
    let segmenter = null;
    try {
      await waitForVideo(video);
      if (mine !== generation) throw aborted();
      const size = sizeOf(track, video);
      const landscape = size.width / size.height >= 1.5;
      segmenter = await createSegmenter(landscape);
      if (mine !== generation || track.readyState === "ended") throw aborted();
      current = new Pipeline(track, video, segmenter, landscape, size);
      return current.track;
    } catch (error) {
      if (segmenter) segmenter.close();
      video.pause();
      video.srcObject = null;
      throw error;
    }
  }

  function stop() {
    generation += 1;
    const running = current;
    current = null;
    if (!running) return;
    if (running.mode === "native") {
      if (running.source.readyState === "live") {
        running.source.applyConstraints(withBlur(running.source, false)).catch(() => {});
      }
      return;
    }
    stopPipeline(running);
  }

  function stats() {
    if (!current) return { mode: null };
    return current.mode === "native" ? { mode: "native" } : current.stats();
  }

  window.CaredoorBlur = Object.freeze({ supported, start, stop, stats });
})();
