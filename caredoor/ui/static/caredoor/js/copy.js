// Copy buttons: <button data-copy-target="input-id" data-copied="Copied" hidden>. The button
// stays hidden without JavaScript (the field can still be selected and copied by hand); a
// status element [data-copy-status="input-id"] announces the result to screen readers.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[data-copy-target]").forEach((button) => {
    const field = document.getElementById(button.dataset.copyTarget);
    if (!field) return;
    const status = document.querySelector(`[data-copy-status="${button.dataset.copyTarget}"]`);
    const label = button.textContent;
    const tell = (text) => {
      button.textContent = text;
      if (status) status.textContent = text;
      window.setTimeout(() => {
        button.textContent = label;
        if (status) status.textContent = "";
      }, 2500);
    };
    button.hidden = false;
    button.addEventListener("click", async () => {
      field.focus();
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        tell(button.dataset.copied || label);
      } catch {
        // No clipboard access (an insecure origin, say): the text is selected for Ctrl+C.
        tell(button.dataset.copyFailed || label);
      }
    });
  });
});
