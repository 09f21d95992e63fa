// The page's one live connection (docs/realtime.md). Loaded on signed-in portal pages,
// whose <body> carries data-live-url, data-portal and data-brand. It opens the WebSocket,
// reconnects with backoff (1 s doubling to 15 s, with jitter), pings every 25 s, keeps the
// navigation badges current on notices for this brand and portal, and offers a tiny event
// bus to the page's own scripts:
//
//   CaredoorLive.on(type, fn)   frames of that type ("message", "read", ...); "status"
//                               gets {state: "connecting" | "open" | "offline"}
//   CaredoorLive.onOpen(fn)     after every (re)connect: subscribe again there
//   CaredoorLive.send(obj)      true when it went out on an open socket
//   CaredoorLive.state()        the current state
//   CaredoorLive.claimNotice    set by a page that shows a notice itself (return true)
//   CaredoorLive.adjust(which, delta)  change a badge ("messages" or "notifications")
//
// "offline" means the socket cannot be used (three failures in a row, or not open within
// 5 s, or no WebSocket at all): a page falls back to polling and comes back when a later
// attempt opens. Without this script every page works as before.
(() => {
  const body = document.body;
  const path = body.dataset.liveUrl;
  if (!path || window.CaredoorLive) return;

  const PING_EVERY = 25000;
  const OPEN_WITHIN = 5000;
  const FIRST_DELAY = 1000;
  const MAX_DELAY = 15000;
  const OFFLINE_AFTER = 3;
  const GIVE_UP_CODES = new Set([4401, 4403]); // signed out, or not this site: no retry

  const listeners = new Map();
  const openers = new Set();
  let socket = null;
  let state = "connecting";
  let failures = 0;
  let pingTimer = 0;
  let openTimer = 0;
  let retryTimer = 0;
  let stopped = false;

  const emit = (type, data) => {
    for (const fn of listeners.get(type) || []) {
      try {
        fn(data);
      } catch (error) {
        console.warn("live listener failed", error); // one page script never stops the rest
      }
    }
  };

  const setState = (next) => {
    if (next === state) return;
    state = next;
    emit("status", { state });
  };

  // --- badges ------------------------------------------------------------------------------

  let announcer = null;
  const announce = (text) => {
    if (!text) return;
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.className = "visually-hidden";
      announcer.setAttribute("aria-live", "polite");
      announcer.id = "live-announcer";
      body.appendChild(announcer);
    }
    announcer.textContent = "";
    window.setTimeout(() => {
      announcer.textContent = text;
    }, 50);
  };

  const setBadge = (selector, value) => {
    for (const badge of document.querySelectorAll(selector)) {
      const count = Math.max(0, value(Number.parseInt(badge.textContent, 10) || 0));
      badge.textContent = String(count);
      badge.hidden = count === 0;
    }
  };

  const BADGES = { messages: "[data-unread-messages]", notifications: "[data-unread-notifications]" };

  const adjust = (which, delta) => setBadge(BADGES[which], (n) => n + delta);

  const onNotice = (notice) => {
    if (String(notice.brand) !== String(body.dataset.brand || notice.brand)) return;
    if (notice.portal && notice.portal !== body.dataset.portal) return;
    if (live.claimNotice && live.claimNotice(notice)) return; // the open thread shows it
    if (notice.what === "message") {
      adjust("messages", 1);
      announce(body.dataset.liveTextMessage);
    } else if (notice.what === "notification") {
      if (Number.isInteger(notice.unread)) {
        setBadge(BADGES.notifications, () => notice.unread);
      } else {
        adjust("notifications", 1);
      }
      announce(body.dataset.liveTextNotification);
    }
  };

  // --- the socket --------------------------------------------------------------------------

  const stopTimers = () => {
    window.clearInterval(pingTimer);
    window.clearTimeout(openTimer);
    pingTimer = 0;
    openTimer = 0;
  };

  const scheduleRetry = () => {
    if (stopped) return;
    const base = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** Math.max(0, failures - 1));
    const delay = base * (0.75 + Math.random() * 0.5);
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(connect, delay);
  };

  const failed = () => {
    failures += 1;
    if (failures >= OFFLINE_AFTER) setState("offline");
    scheduleRetry();
  };

  function connect() {
    if (typeof window.WebSocket !== "function") {
      setState("offline"); // blocked or absent: the page polls
      return;
    }
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${window.location.host}${path}`);
    } catch {
      setState("offline");
      failed();
      return;
    }
    socket = ws;
    let opened = false;
    openTimer = window.setTimeout(() => {
      if (opened) return;
      setState("offline"); // not open within 5 s: poll meanwhile, keep trying
      ws.close();
    }, OPEN_WITHIN);
    ws.addEventListener("open", () => {
      opened = true;
      window.clearTimeout(openTimer);
      failures = 0;
      setState("open");
      pingTimer = window.setInterval(() => live.send({ type: "ping" }), PING_EVERY);
      for (const fn of openers) {
        try {
          fn();
        } catch (error) {
          console.warn("live opener failed", error);
        }
      }
    });
    ws.addEventListener("message", (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!data || typeof data.type !== "string") return;
      if (data.type === "notice") onNotice(data);
      emit(data.type, data);
    });
    ws.addEventListener("close", (event) => {
      stopTimers();
      if (socket === ws) socket = null;
      if (GIVE_UP_CODES.has(event.code)) {
        stopped = true;
        setState("offline");
        return;
      }
      if (opened) {
        failures = 0;
        setState("connecting"); // dropped: try again at once, then back off
      }
      failed();
    });
  }

  const live = {
    on(type, fn) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(fn);
    },
    onOpen(fn) {
      openers.add(fn);
      if (state === "open") fn();
    },
    send(obj) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(obj));
      return true;
    },
    state: () => state,
    adjust,
    claimNotice: null,
  };
  window.CaredoorLive = live;

  // A page coming back from the background reconnects at once instead of waiting.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !socket && !stopped) {
      window.clearTimeout(retryTimer);
      connect();
    }
  });
  connect();
})();
