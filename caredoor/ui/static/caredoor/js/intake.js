// Conditional intake questions. Without JavaScript every question is shown and a
// conditional one says "Answer only if ..." (the server ignores answers to hidden
// questions). With it, a question whose condition is not met is hidden, its hint removed
// (the condition is then visible as the question appearing), and a hidden question hides
// the questions that depend on it.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-intake-form]").forEach((form) => {
    const dependants = Array.from(form.querySelectorAll("[data-show-if]"));
    if (!dependants.length) return;
    const blockOf = (name) => {
      const field = form.querySelector(`[name="${CSS.escape(name)}"]`);
      return field ? field.closest(".intake-question") : null;
    };
    const values = (name) =>
      Array.from(form.querySelectorAll(`[name="${CSS.escape(name)}"]`))
        .filter((el) => (el.type === "radio" || el.type === "checkbox" ? el.checked : true))
        .map((el) => el.value);
    const update = () => {
      // In document order: a condition always refers to an earlier question.
      dependants.forEach((block) => {
        const target = blockOf(block.dataset.showIf);
        const targetShown = !target || !target.hidden;
        const given = values(block.dataset.showIf);
        const met = targetShown && given.includes(block.dataset.showIfValue);
        block.hidden = !met;
      });
    };
    dependants.forEach((block) => {
      const hint = block.querySelector(".intake-condition");
      if (!hint) return;
      block.querySelectorAll("[aria-describedby]").forEach((el) => {
        const ids = el.getAttribute("aria-describedby").split(/\s+/).filter((id) => id && id !== hint.id);
        if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
        else el.removeAttribute("aria-describedby");
      });
      hint.remove();
    });
    form.addEventListener("change", update);
    update();
  });
});
