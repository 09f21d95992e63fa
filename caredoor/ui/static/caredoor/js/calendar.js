// The specialist's calendar: keyboard shortcuts for its navigation links. Without
// JavaScript the links work the same; this only saves reaching for them.
document.addEventListener("DOMContentLoaded", () => {
  const links = {};
  document.querySelectorAll("a[data-cal-key]").forEach((link) => {
    links[link.dataset.calKey.toLowerCase()] = link;
  });
  if (!Object.keys(links).length) return;
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target.closest("input, select, textarea, [contenteditable]")) return;
    const link = links[event.key.toLowerCase()];
    if (!link) return;
    event.preventDefault();
    window.location.assign(link.href);
  });
});
