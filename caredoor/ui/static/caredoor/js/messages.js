// The thread page, live (docs/realtime.md; markup in docs/messaging.md). Subscribes to the
// conversation on the page's socket (live.js) from the newest message shown, so nothing
// is missed or doubled after a reconnect; shows new messages, edits, deletions, "Read"
// on one's own messages and who is typing; marks what arrives as read while the page is
// visible; sends with Enter (Shift+Enter: new line) through the socket, or by a normal
// POST when a file is attached or the socket is down. When WebSockets are blocked it
// polls the thread every 3 s (slower in the background) and goes back to the socket when
// it opens. Without JavaScript the page and its form work on their own.
(() => {
  const section = document.getElementById("thread");
  const list = document.getElementById("messages");
  if (!section || !list) return;

  const data = section.dataset;
  const threadId = Number(data.thread);
  const me = Number(data.me);
  const live = window.CaredoorLive || null;
  const form = document.getElementById("composer");
  const box = form ? form.querySelector("textarea[name=body]") : null;
  const fileInput = form ? form.querySelector("input[type=file][name=attachment]") : null;
  const tokenInput = form ? form.querySelector("input[name=client_token]") : null;
  const typingLine = document.getElementById("typing");
  const statusLine = document.getElementById("live-status");

  const POLL_VISIBLE = 3000;
  const POLL_HIDDEN = 15000;
  const TYPING_SHOWN = 4000;
  const TYPING_EVERY = 2000;
  const SOCKET_ANSWER_WITHIN = 8000;
  const NEAR_BOTTOM = 160; // px

  let lastId = Math.max(Number(data.lastId) || 0, ...ids());
  let readUpto = Number(data.readUpto) || 0; // furthest another party has read
  let myReadUpto = lastId; // the page was opened: the server counted it as read
  let since = new Date(Date.now() - 120000).toISOString(); // for polled edits and deletions
  let unseenNotices = 0; // notices live.js counted on the badge while the page was hidden

  function ids() {
    return Array.from(list.querySelectorAll(":scope > li[data-id]"), (li) => Number(li.dataset.id));
  }

  // --- rendering ---------------------------------------------------------------------------

  // Times as the server writes them ("21 Nov 2026, 09:50", Django's "j M Y, H:i"): the
  // month's name in the page's language, the hour in the thread's time zone.
  const formatter = (() => {
    const options = {
      timeZone: data.timeZone || undefined,
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    };
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang || undefined, options);
    } catch {
      return new Intl.DateTimeFormat(undefined, { ...options, timeZone: undefined });
    }
  })();
  const formatTime = (date) => {
    const part = Object.fromEntries(formatter.formatToParts(date).map((p) => [p.type, p.value]));
    const month = (part.month || "").replace(/\.$/, "");
    return `${part.day} ${month} ${part.year}, ${part.hour}:${part.minute}`;
  };

  const sizeText = (bytes) => {
    if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
    if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${bytes} B`;
  };

  const slot = (root, name) => root.querySelector(`[data-slot="${name}"]`);

  const setTime = (el, iso) => {
    if (!el || !iso) return;
    el.setAttribute("datetime", iso);
    el.textContent = formatTime(new Date(iso));
  };

  const removed = (p) => Boolean(p.deleted || p.purged);

  // Fill the parts of a text message that change (new, edited, deleted, read).
  const fillText = (li, p) => {
    const gone = removed(p);
    slot(li, "body").innerHTML = gone ? "" : p.body_html || ""; // sanitized by the server
    const edited = slot(li, "edited");
    if (edited) edited.hidden = !p.edited || gone;
    const attachment = slot(li, "attachment");
    if (attachment) {
      attachment.textContent = "";
      attachment.hidden = gone || !p.attachment;
      if (!gone && p.attachment) {
        const link = document.createElement("a");
        link.href = (data.attachmentUrl || "").replace("{id}", String(p.id));
        link.textContent = p.attachment.name || data.textAttachment || "";
        if (!String(p.attachment.type || "").startsWith("image/")) link.setAttribute("download", "");
        const size = document.createElement("span");
        size.className = "message__size";
        size.textContent = `(${sizeText(p.attachment.size || 0)})`;
        attachment.append(link, " ", size);
      }
    }
    const deleted = slot(li, "deleted");
    if (deleted) {
      deleted.hidden = !gone;
      deleted.textContent = p.purged ? data.textRemoved || "" : gone ? data.textDeleted || "" : "";
    }
    li.classList.toggle("message--deleted", gone);
    if (gone) li.querySelector(".message__actions")?.remove();
    setStatus(li);
  };

  const setStatus = (li) => {
    const status = slot(li, "status");
    if (!status) return;
    const mine = li.dataset.mine === "1" && !li.classList.contains("message--deleted");
    status.hidden = !mine;
    if (mine) status.textContent = Number(li.dataset.id) <= readUpto ? data.textRead : data.textSent;
  };

  const build = (p) => {
    const template = document.getElementById(p.kind === "event" ? "event-template" : "message-template");
    if (!template) return null;
    const li = template.content.firstElementChild.cloneNode(true);
    li.id = `m-${p.id}`;
    li.dataset.id = String(p.id);
    li.dataset.kind = p.kind === "event" ? "event" : "text";
    li.dataset.mine = p.mine ? "1" : "0";
    setTime(slot(li, "time"), p.created);
    if (p.kind === "event") {
      slot(li, "body").textContent = p.event_text || "";
      const link = slot(li, "link");
      if (link) {
        link.hidden = !p.event_url;
        if (p.event_url) link.href = p.event_url;
      }
      return li;
    }
    li.classList.toggle("message--mine", Boolean(p.mine));
    li.classList.toggle("message--new", !p.mine);
    slot(li, "sender").textContent = p.sender_name || "";
    fillText(li, p);
    return li;
  };

  // Insert in id order; a line already on the page is left alone (true when added).
  const add = (p) => {
    if (!p || !Number.isInteger(p.id) || document.getElementById(`m-${p.id}`)) return false;
    const li = build(p);
    if (!li) return false;
    const later = Array.from(list.children).find((el) => Number(el.dataset.id) > p.id);
    list.insertBefore(li, later || null);
    document.getElementById("thread-empty")?.remove();
    lastId = Math.max(lastId, p.id);
    return true;
  };

  const update = (p) => {
    const li = document.getElementById(`m-${p.id}`);
    if (!li) return;
    if (li.dataset.kind === "text") fillText(li, p);
  };

  const receipts = (upto) => {
    if (!Number.isInteger(upto) || upto <= readUpto) return;
    readUpto = upto;
    for (const li of list.querySelectorAll(':scope > li[data-mine="1"]')) setStatus(li);
  };

  // --- arriving messages: scroll, "new messages" button, typing, read ----------------------

  let newButton = null;
  const nearBottom = () => list.getBoundingClientRect().bottom - window.innerHeight < NEAR_BOTTOM;

  const showNewButton = (first) => {
    if (!newButton) {
      newButton = document.createElement("button");
      newButton.type = "button";
      newButton.className = "button button--small thread__new-messages";
      newButton.textContent = data.textNewMessages || "";
      newButton.addEventListener("click", () => {
        const target = document.getElementById(newButton.dataset.target) || list.lastElementChild;
        target?.scrollIntoView({ block: "center" });
        newButton.hidden = true;
      });
      list.after(newButton);
    }
    if (newButton.hidden || !newButton.dataset.target) newButton.dataset.target = first;
    newButton.hidden = false;
  };

  window.addEventListener(
    "scroll",
    () => {
      if (newButton && !newButton.hidden && nearBottom()) newButton.hidden = true;
    },
    { passive: true },
  );

  let typingTimer = 0;
  const hideTyping = () => {
    if (!typingLine) return;
    typingLine.hidden = true;
    typingLine.textContent = "";
  };

  const arrived = (payloads) => {
    const wasNear = nearBottom();
    const fresh = payloads.filter(add);
    if (!fresh.length) return;
    const fromOthers = fresh.filter((p) => !p.mine);
    if (fromOthers.length) hideTyping();
    const last = document.getElementById(`m-${fresh[fresh.length - 1].id}`);
    if (wasNear || fresh.every((p) => p.mine)) {
      last?.scrollIntoView({ block: "nearest" });
    } else if (fromOthers.length) {
      showNewButton(`m-${fromOthers[0].id}`);
    }
    markRead();
  };

  let readTimer = 0;
  function markRead() {
    window.clearTimeout(readTimer);
    readTimer = window.setTimeout(() => {
      if (document.visibilityState !== "visible" || lastId <= myReadUpto) return;
      const upto = lastId;
      const sent = live?.send({ type: "read", thread: threadId, upto });
      if (!sent) postRead(upto);
      myReadUpto = upto;
      if (unseenNotices) {
        live?.adjust("messages", -unseenNotices);
        unseenNotices = 0;
      }
    }, 300);
  }

  const csrfToken = () =>
    form?.querySelector("input[name=csrfmiddlewaretoken]")?.value ||
    (() => {
      try {
        return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
      } catch {
        return "";
      }
    })();

  function postRead(upto) {
    if (!data.readUrl) return;
    fetch(data.readUrl, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: new URLSearchParams({ upto: String(upto) }),
      credentials: "same-origin",
    }).catch(() => {});
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") markRead();
    schedulePoll();
  });

  // --- the socket ----------------------------------------------------------------------------

  const setStatusLine = (text) => {
    if (statusLine && statusLine.textContent !== text) statusLine.textContent = text || "";
  };

  // A page of earlier messages (?before=) is history: it does not go live.
  const historical = new URLSearchParams(window.location.search).has("before");

  if (live && !historical) {
    // A notice about this thread while it is on screen changes no badge.
    live.claimNotice = (notice) => {
      if (notice.what !== "message" || Number(notice.thread) !== threadId) return false;
      if (document.visibilityState === "visible") return true;
      unseenNotices += 1;
      return false;
    };
    live.onOpen(() => {
      live.send({ type: "subscribe", thread: threadId, portal: data.portal, after: lastId });
    });
    live.on("message", (p) => {
      if (p.thread === threadId) arrived([p]);
    });
    live.on("update", (p) => {
      if (p.thread === threadId) update(p);
    });
    live.on("subscribed", (p) => {
      if (p.thread !== threadId) return;
      receipts(p.read_upto);
      stopPolling();
      setStatusLine(data.textLive);
    });
    live.on("read", (p) => {
      if (p.thread !== threadId) return;
      if (p.user === me) myReadUpto = Math.max(myReadUpto, p.upto);
      else receipts(p.upto);
    });
    live.on("typing", (p) => {
      if (p.thread !== threadId || p.user === me || !typingLine) return;
      typingLine.textContent = (data.textTyping || "").replace("%(name)s", p.name || "");
      typingLine.hidden = false;
      window.clearTimeout(typingTimer);
      typingTimer = window.setTimeout(hideTyping, TYPING_SHOWN);
    });
    live.on("posted", (p) => settle(p.token, true));
    live.on("error", (p) => {
      if (p.error === "invalid" && p.token) settle(p.token, false, p.messages);
      if (p.error === "not_found" && p.thread === threadId) startPolling();
    });
    live.on("status", ({ state }) => {
      if (state === "offline") startPolling();
      else if (state === "connecting") setStatusLine(data.textOffline);
    });
  }

  // --- polling when the socket cannot be used -----------------------------------------------

  let polling = false;
  let pollTimer = 0;

  function startPolling() {
    if (polling) return;
    polling = true;
    setStatusLine(data.textPolling);
    poll();
  }

  function stopPolling() {
    polling = false;
    window.clearTimeout(pollTimer);
  }

  function schedulePoll() {
    if (!polling) return;
    window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(
      poll,
      document.visibilityState === "visible" ? POLL_VISIBLE : POLL_HIDDEN,
    );
  }

  async function poll() {
    if (!polling || !data.pollUrl) return;
    const url = new URL(data.pollUrl, window.location.href);
    url.searchParams.set("after", String(lastId));
    url.searchParams.set("since", since);
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.status === 404 || response.status === 403) {
        stopPolling(); // no longer a party, or signed out
        return;
      }
      if (response.ok) {
        const body = await response.json();
        arrived(body.messages || []);
        (body.updates || []).forEach(update);
        receipts(body.read_upto);
        if (body.now) since = body.now;
      }
    } catch {
      // the network is down: try again at the next turn
    }
    schedulePoll();
  }

  // No live script, or no WebSocket at all (live.js said so before we listened): poll.
  if (!historical && (!live || live.state() === "offline")) startPolling();

  // --- the composer ----------------------------------------------------------------------------

  if (!form || !box) return;

  const uuid = () => {
    if (window.crypto?.randomUUID) return window.crypto.randomUUID();
    const bytes = window.crypto.getRandomValues(new Uint8Array(16)); // plain http pages
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };

  const button = form.querySelector("button[type=submit], button:not([type])");
  let pending = null; // {token, timer}: a post sent on the socket, not answered yet

  const showErrors = (errors) => {
    for (const ul of form.querySelectorAll("[data-errors-for]")) {
      const messages = (errors && errors[ul.dataset.errorsFor]) || [];
      ul.textContent = "";
      for (const text of messages) {
        const li = document.createElement("li");
        li.textContent = text;
        ul.appendChild(li);
      }
      ul.hidden = messages.length === 0;
      const field = ul.closest(".field");
      field?.classList.toggle("field--invalid", messages.length > 0);
      const input = field?.querySelector("textarea, input");
      if (input) {
        if (messages.length) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    }
    const first = form.querySelector("[aria-invalid=true]");
    first?.focus();
  };

  const busy = (on) => {
    if (button) {
      button.disabled = on;
      button.setAttribute("aria-busy", on ? "true" : "false");
    }
    if (on) setStatusLine(data.textSending);
  };

  const sent = () => {
    box.value = "";
    if (fileInput) fileInput.value = "";
    if (tokenInput) tokenInput.value = uuid();
    showErrors({});
    box.dispatchEvent(new Event("input")); // the character counter
    box.focus();
  };

  const restoreStatus = () => {
    const state = live ? live.state() : "offline";
    setStatusLine(polling ? data.textPolling : state === "open" ? data.textLive : data.textOffline);
  };

  function settle(token, ok, errors) {
    if (!pending || pending.token !== token) return;
    window.clearTimeout(pending.timer);
    pending = null;
    busy(false);
    restoreStatus();
    if (ok) sent();
    else showErrors(errors);
  }

  async function postForm() {
    const body = new FormData(form);
    body.set("client_token", tokenInput?.value || "");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body,
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
      });
      const answer = await response.json().catch(() => null);
      if (response.ok && answer?.ok) {
        arrived([answer.message]);
        sent();
      } else if (answer?.errors) {
        showErrors(answer.errors);
      } else {
        showErrors({ body: [data.textSendFailed] });
      }
    } catch {
      showErrors({ body: [data.textSendFailed] }); // kept: the same token on retry
    }
    busy(false);
    restoreStatus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (pending || button?.disabled) return;
    if (tokenInput && !tokenInput.value) tokenInput.value = uuid();
    const token = tokenInput?.value || uuid();
    const hasFile = Boolean(fileInput?.files?.length);
    busy(true);
    if (!hasFile && live?.send({ type: "post", thread: threadId, body: box.value, token })) {
      // No answer in time (the socket died on the way): the same token over HTTP stores
      // it at most once.
      pending = {
        token,
        timer: window.setTimeout(() => {
          pending = null;
          postForm();
        }, SOCKET_ANSWER_WITHIN),
      };
      return;
    }
    postForm();
  });

  box.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.altKey) return;
    event.preventDefault();
    form.requestSubmit();
  });

  let typedAt = 0;
  box.addEventListener("input", () => {
    const now = Date.now();
    if (!live || !box.value.trim() || now - typedAt < TYPING_EVERY) return;
    typedAt = now;
    live.send({ type: "typing", thread: threadId });
  });

  if (tokenInput && !tokenInput.value) tokenInput.value = uuid();
})();
