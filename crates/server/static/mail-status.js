// Keeps the waiting screen's mail status current: asks the same origin every few seconds for
// this session's own mail and stops once the state can no longer change. Without this script
// the page shows the state as of its load and a reload link.
(function () {
  "use strict";
  var status = document.getElementById("mail-status");
  if (!status || !window.fetch) return;
  var url = status.getAttribute("data-poll");
  var tries = 0;
  function settled(state) {
    return state !== "waiting" && state !== "retrying";
  }
  function ask() {
    tries += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (mail) {
        if (!mail || !mail.state) return;
        if (mail.state !== status.getAttribute("data-state")) {
          status.setAttribute("data-state", mail.state);
          status.className = "mail-status-" + mail.state;
          status.textContent = mail.message;
        }
        if (!mail.settled && tries < 200) window.setTimeout(ask, 3000);
      })
      .catch(function () { if (tries < 200) window.setTimeout(ask, 10000); });
  }
  if (!settled(status.getAttribute("data-state"))) window.setTimeout(ask, 1500);
})();
