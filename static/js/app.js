// Small behaviours shared by every page, kept out of inline handlers so the
// Content-Security-Policy can forbid inline scripts.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.submit();
  }
});
