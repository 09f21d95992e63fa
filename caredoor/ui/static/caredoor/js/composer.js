// The message composer's character counter: "12 of 4000 characters" under the text box
// (#composer-count, data-max), worded by the thread's data-text-count. Without JavaScript
// the line keeps its static "Up to 4000 characters." Counts characters as the server does
// (code points, after line endings become one character); the live script (messages.js)
// may empty the box after sending, so the count is refreshed after a submit too.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("composer-body");
  const out = document.getElementById("composer-count");
  const thread = document.getElementById("thread");
  if (!box || !out || !thread) return;
  const max = Number.parseInt(out.dataset.max, 10) || box.maxLength;
  const pattern = thread.dataset.textCount || "%(count)s / %(max)s";
  const update = () => {
    const count = Array.from(box.value).length;
    out.textContent = pattern.replace("%(count)s", String(count)).replace("%(max)s", String(max));
    out.classList.toggle("composer__count--over", count > max);
  };
  box.addEventListener("input", update);
  box.form?.addEventListener("submit", () => {
    setTimeout(update, 0);
    setTimeout(update, 1000);
  });
  box.form?.addEventListener("reset", () => setTimeout(update, 0));
  update();
});
