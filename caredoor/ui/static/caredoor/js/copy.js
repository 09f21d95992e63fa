// Copy buttons: <button data-copy-target="input-id" data-copied="Copied" hidden>. The button
// stays hidden without JavaScript (the field can still be selected and copied by hand); a
// status element [data-copy-status="input-id"] announces the result to screen readers.
document.addEventListener("DOMContentLoaded", () => {
  const copy = async (field) => {
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(field.value);
      return;
    }
    // Plain-HTTP hosts have no Clipboard API; the older command still works on a click.
    if (!document.execCommand("copy")) throw new Error("copy refused");
  };
  document.querySelectorAll("button[data-copy-target]").forEach((button) => {
    const field = document.getElementById(button.dataset.copyTarget);
    if (!field) return;
    const status = document.querySelector(`[data-copy-status="${button.dataset.copyTarget}"]`);
    const label = button.textContent;
    let timer = 0;
    const tell = (text) => {
      button.textContent = text;
      if (status) status.textContent = text;
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        button.textContent = label;
        if (status) status.textContent = "";
      }, 2500);
    };
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await copy(field);
        tell(button.dataset.copied || label);
      } catch {
        // The text stays selected for Ctrl+C.
        tell(button.dataset.copyFailed || label);
      }
    });
  });
});
