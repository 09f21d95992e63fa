// The pay page: the card goes to Stripe (Stripe.js), its payment method id comes here, the
// server charges it and answers; only the server's reading of Stripe confirms the booking.
// With localstripe (the embedded demo and the tests) Stripe.js is localstripe's stand-in:
// it has no createPaymentMethod, so the card's id comes from a card token instead.
(function () {
  "use strict";
  const form = document.getElementById("pay-form");
  if (!form || typeof window.Stripe !== "function") return;
  const data = form.dataset;
  const button = document.getElementById("pay-button");
  const status = document.getElementById("pay-status");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const stripe = window.Stripe(data.key);
  const elements = stripe.elements({
    mode: "payment",
    amount: Number(data.amount),
    currency: data.currency,
    paymentMethodTypes: ["card"],
  });
  const card = elements.create("payment");
  card.mount("#card-element");
  let busy = false;

  function say(text, kind) {
    status.replaceChildren();
    if (!text) return;
    const p = document.createElement("p");
    p.className = kind === "error" ? "message message--error" : "message";
    p.textContent = text;
    status.appendChild(p);
  }

  function setBusy(value) {
    busy = value;
    button.disabled = value;
    button.setAttribute("aria-busy", value ? "true" : "false");
  }

  async function send(url, body) {
    const response = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? {} : { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    let answer = {};
    try { answer = await response.json(); } catch (e) { answer = {}; }
    answer.ok = response.ok;
    return answer;
  }

  async function paymentMethod() {
    if (typeof elements.submit === "function") {
      const submitted = await elements.submit();
      if (submitted && submitted.error) return { error: submitted.error.message };
    }
    const created = await stripe.createPaymentMethod({ elements: elements });
    if (created && created.paymentMethod) return { id: created.paymentMethod.id };
    if (created && created.error) return { error: created.error.message };
    // localstripe's Stripe.js: a card token carries the card, which the server charges.
    const made = await stripe.createToken(card);
    if (made && made.token && made.token.card) return { id: made.token.card.id };
    return { error: (made && made.error && made.error.message) || data.textCard };
  }

  async function authenticate(clientSecret) {
    if (typeof stripe.handleNextAction === "function") {
      return stripe.handleNextAction({ clientSecret: clientSecret });
    }
    return stripe.confirmCardPayment(clientSecret); // localstripe: its 3-D Secure dialog
  }

  async function follow(answer) {
    // Poll the server (which asks Stripe) until the payment is settled either way.
    for (let i = 0; i < 60; i++) {
      if (answer.status === "succeeded" && answer.booking_status === "confirmed") {
        say(answer.message);
        window.location.assign(answer.next || data.bookingUrl);
        return;
      }
      if (answer.status === "requires_action" && answer.client_secret) {
        const result = await authenticate(answer.client_secret);
        if (result && result.error) {
          say(result.error.message || data.textFailed, "error");
        }
        answer.client_secret = null;
      } else if (answer.status === "failed" || answer.status === "canceled" || !answer.ok) {
        say(answer.message || data.textFailed, "error");
        setBusy(false);
        return;
      } else if (answer.booking_status && answer.booking_status !== "pending_payment" &&
                 answer.booking_status !== "confirmed") {
        say(answer.message || data.textExpired, "error");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, i < 10 ? 700 : 2000));
      answer = await send(data.statusUrl);
    }
    say(data.textFailed, "error");
    setBusy(false);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    say(data.textProcessing);
    try {
      const method = await paymentMethod();
      if (method.error) {
        say(method.error, "error");
        setBusy(false);
        return;
      }
      const answer = await send(data.attemptUrl, { method: method.id });
      await follow(answer);
    } catch (error) {
      say(data.textFailed, "error");
      setBusy(false);
    }
  });

  // The hold: when it ends, the button goes (the server refuses late attempts anyway).
  const note = document.getElementById("hold-note");
  if (note && note.dataset.expiresAt) {
    const ends = Date.parse(note.dataset.expiresAt);
    const check = () => {
      if (Date.now() >= ends && !busy) {
        button.disabled = true;
        say(data.textExpired, "error");
        return;
      }
      setTimeout(check, 5000);
    };
    check();
  }
  if (data.inFlight) {
    setBusy(true);
    say(data.textProcessing);
    send(data.statusUrl).then(follow);
  }
})();
