// Large + / − buttons next to quantity fields; the form works without them.
document.addEventListener("click", function (ev) {
  var b = ev.target.closest && ev.target.closest("button.step");
  if (!b) return;
  var input = document.getElementById(b.dataset.for);
  if (!input) return;
  var v = parseInt(input.value || "0", 10) || 0;
  input.value = Math.max(0, v + parseInt(b.dataset.step, 10));
});
function showSteppers() {
  document.querySelectorAll("button.step[hidden]").forEach(function (b) { b.hidden = false; });
}
document.addEventListener("DOMContentLoaded", showSteppers);
document.addEventListener("htmx:afterSettle", showSteppers);
// Crew search: Enter searches (instead of submitting the form with its first button), and
// a person ticked among the results joins the crew list, so a new search keeps them.
document.addEventListener("keydown", function (ev) {
  var input = ev.target.closest && ev.target.closest("[data-worker-search]");
  if (!input || ev.key !== "Enter") return;
  ev.preventDefault();
  if (window.htmx) window.htmx.trigger(input, "search");
});
document.addEventListener("change", function (ev) {
  var box = ev.target;
  if (!box.matches || !box.matches("#worker-results input[type=checkbox]") || !box.checked) return;
  var list = document.getElementById("crew-list");
  var item = box.closest("li");
  if (!list || !item) return;
  var empty = list.querySelector("li.muted");
  if (empty) empty.remove();
  list.appendChild(item);
});
