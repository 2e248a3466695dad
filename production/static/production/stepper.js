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
