// Small behaviours without inline script (the CSP forbids inline code).
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) {
    event.target.form.submit();
  }
});

// Status change: show the C1D1 date only when enrolling, the last dose only when stopping.
function syncTransitionFields() {
  const target = document.getElementById("id_target");
  if (!target) return;
  const show = (id, on) => {
    const el = document.getElementById(id);
    if (el) el.hidden = !on;
  };
  show("div_id_c1d1", target.value === "enrolled");
  show("div_id_last_dose", target.value === "off_treatment");
}
document.addEventListener("change", (event) => {
  if (event.target.id === "id_target") syncTransitionFields();
});
document.addEventListener("DOMContentLoaded", syncTransitionFields);

// Progress bars: width from data-width (no inline style under the CSP).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".progress-bar[data-width]").forEach((bar) => {
    bar.style.width = `${Math.min(100, Number(bar.dataset.width) || 0)}%`;
  });
});

// CTCAE grade buttons (templates/safety/_term_panel.html): toggle buttons over one hidden
// field. The pressed one carries aria-pressed="true", which the stylesheet marks.
document.addEventListener("click", (event) => {
  const button = event.target.closest("#grade-buttons button[data-grade]");
  if (!button) return;
  const group = button.closest("#grade-buttons");
  group.querySelector("input[name=grade]").value = button.dataset.grade;
  group.querySelectorAll("button[data-grade]").forEach((b) => {
    b.setAttribute("aria-pressed", b === button ? "true" : "false");
  });
});
