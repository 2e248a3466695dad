// Small behaviours shared by every page, kept out of inline handlers so the
// Content-Security-Policy can forbid inline scripts.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.submit();
  }
});

// A room code that came in the address (the room card's QR code) has filled the check-in
// form by now: take it out of the address bar and history, so sharing the assembly's link
// does not share the code.
(function () {
  if (!window.history || !history.replaceState || !window.URLSearchParams) return;
  var url = new URL(window.location.href);
  if (!url.searchParams.has("code")) return;
  url.searchParams.delete("code");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
})();
