/* Live assembly: follow the server's event log over a websocket.
 *
 * Markup: <div id="live" data-assembly="<uuid>" data-seq="<last seq>" data-ws="/ws/assemblies/<uuid>/">
 * Frames (see assemblies/consumers.py): "events" {from, to, html}, "snapshot" {seq, html},
 * "sync" {seq}, "pong", "error". The html is htmx out-of-band swaps, applied as they come.
 * Writes stay ordinary forms over HTTP; without this script (or without websockets) the page
 * still works, a refresh shows the current state.
 */
(function () {
  "use strict";

  var root = document.getElementById("live");
  if (!root || !root.dataset.ws || !("WebSocket" in window)) return;

  var seq = parseInt(root.dataset.seq, 10) || 0;
  var socket = null;
  var attempt = 0;
  var retryTimer = null;
  var shownTimer = null;
  var base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.ws;

  var TEXT = {
    es: ["Reconectando…", "Actualizar", "Ya no puedes seguir esta asamblea."],
    en: ["Reconnecting…", "Refresh", "You can no longer follow this assembly."],
  };
  var lang = (document.documentElement.lang || "es").slice(0, 2);
  var words = TEXT[lang] || TEXT.es;

  // A small, polite status line; only shown when the connection has been down a moment.
  var status = document.createElement("p");
  status.className = "live-status muted";
  status.setAttribute("role", "status");
  status.hidden = true;
  var label = document.createElement("span");
  label.textContent = root.dataset.reconnectingText || words[0];
  var refresh = document.createElement("button");
  refresh.type = "button";
  refresh.className = "secondary";
  refresh.textContent = root.dataset.refreshText || words[1];
  refresh.addEventListener("click", function () { location.reload(); });
  status.appendChild(label);
  status.appendChild(document.createTextNode(" "));
  status.appendChild(refresh);
  root.insertBefore(status, root.firstChild);

  function setState(state) {
    root.dataset.liveState = state;
    if (state === "open") {
      clearTimeout(shownTimer);
      shownTimer = null;
      status.hidden = true;
    } else if (!shownTimer && status.hidden) {
      // Brief drops (a phone switching networks) should not flash a warning.
      shownTimer = setTimeout(function () { status.hidden = false; }, 1500);
    }
  }

  function applyHtml(html) {
    if (!html) return;
    if (window.htmx && typeof window.htmx.swap === "function") {
      window.htmx.swap(root, html, { swapStyle: "none", swapDelay: 0, settleDelay: 0 });
      return;
    }
    // Without htmx: replace each out-of-band element by id.
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    Array.prototype.forEach.call(tpl.content.children, function (el) {
      var old = el.id && document.getElementById(el.id);
      if (old) {
        el.removeAttribute("hx-swap-oob");
        old.replaceWith(el);
      }
    });
  }

  function advance(to) {
    seq = to;
    root.dataset.seq = String(seq);
    root.dispatchEvent(new CustomEvent("live:seq", { detail: { seq: seq } }));
  }

  function onFrame(event) {
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    switch (frame.type) {
      case "events":
        if (frame.to <= seq) return;
        if (frame.from > seq + 1) {
          // Never show state with a hole in it: ask for what is missing.
          send({ type: "resync", seq: seq });
          return;
        }
        applyHtml(frame.html);
        advance(frame.to);
        break;
      case "snapshot":
        applyHtml(frame.html);
        advance(frame.seq);
        break;
      case "sync":
        advance(frame.seq);
        break;
      case "error":
        if (window.console) console.warn("live:", frame.code, frame.message);
        break;
    }
  }

  // While the socket is open the shared regions reach this page over it, so an action's
  // HTTP response need not carry them (the server re-renders them only without this).
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      event.detail.headers["X-Live-Connected"] = "1";
    }
  });

  function send(obj) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(obj));
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (socket) return;
    var ws = new WebSocket(base + "?seq=" + seq);
    socket = ws;
    ws.onopen = function () {
      attempt = 0;
      setState("open");
    };
    ws.onmessage = onFrame;
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      // Close codes from assemblies/consumers.py.
      if (event.code === 4205 || event.code === 4401) {
        // Mandates changed (controls differ) or the session ended (the login page follows).
        location.reload();
        return;
      }
      if (event.code === 4403) {
        label.textContent = root.dataset.goneText || words[2];
        setState("closed");
        status.hidden = false;
        return;
      }
      if (event.code === 4429 || event.code === 1008) attempt = Math.max(attempt, 5);
      setState("reconnecting");
      schedule();
    };
  }

  function schedule() {
    if (retryTimer) return;
    // Exponential backoff with full jitter: after a server restart, 1,300 phones must not
    // all come back in the same instant.
    var ceiling = Math.min(30000, 500 * Math.pow(2, attempt));
    attempt += 1;
    retryTimer = setTimeout(connect, 250 + Math.random() * ceiling);
  }

  window.addEventListener("online", function () {
    if (!socket) connect();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !socket) connect();
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && !socket) connect();
  });
  window.addEventListener("pagehide", function () {
    if (socket) {
      var ws = socket;
      socket = null;
      ws.close(1000);
    }
  });

  connect();
})();
