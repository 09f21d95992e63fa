// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Forms marked data-confirm ask before a destructive submit.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Invitation forms: show only the scope field that applies to the chosen role. Without
  // JavaScript every field shows and the server ignores the ones that do not apply.
  const scopes = document.getElementById("role-scopes");
  if (!scopes) return;
  const map = JSON.parse(scopes.textContent);
  document.querySelectorAll("fieldset[data-scope-for]").forEach((fieldset) => {
    const select = document.getElementById(fieldset.dataset.scopeFor);
    if (!select) return;
    const sync = () => {
      const wanted = map[select.value];
      fieldset.querySelectorAll("[data-scope]").forEach((el) => {
        el.hidden = el.dataset.scope !== wanted;
      });
    };
    select.addEventListener("change", sync);
    sync();
  });
});
