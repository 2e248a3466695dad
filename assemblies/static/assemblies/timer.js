// Speaking timer: counts up from the turn's start (data-started) and turns red past the
// limit (data-limit, seconds). Reads the shared queue region, so it survives live swaps.
(function () {
  "use strict";
  function tick() {
    document.querySelectorAll(".timer[data-started]").forEach(function (el) {
      var started = Date.parse(el.getAttribute("data-started"));
      if (isNaN(started)) return;
      var secs = Math.max(0, Math.floor((Date.now() - started) / 1000));
      var limit = parseInt(el.getAttribute("data-limit") || "0", 10);
      var m = Math.floor(secs / 60), s = secs % 60;
      var text = m + ":" + (s < 10 ? "0" : "") + s;
      if (limit) {
        var lm = Math.floor(limit / 60), ls = limit % 60;
        text += " / " + lm + ":" + (ls < 10 ? "0" : "") + ls;
      }
      el.textContent = text;
      el.classList.toggle("over", limit > 0 && secs > limit);
      el.style.color = limit > 0 && secs > limit ? "#a4262c" : "";
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
})();
