// Live status without reloading: every status cell whose run is not final polls its
// status.json every 1.5 s and stops at a final state. When a run becomes final, the element
// named by data-refresh (a table row, the findings) is re-fetched and swapped in place.
// Rows added later (upload.js swaps in the documents table) announce themselves with a
// `docanalysis:rows-added` event on document, which starts the polling again.
(function () {
  "use strict";
  var POLL_MS = 1500;

  function pending() {
    return document.querySelectorAll('[data-status-url][data-final="false"]');
  }

  function render(cell, s) {
    var label = cell.querySelector('[data-role="label"]');
    label.textContent = s.label;
    label.className = "badge state-" + s.state;
    var bar = cell.querySelector('[data-role="progress"]');
    bar.hidden = s.final || !s.stage_total;
    bar.max = s.stage_total || 1;
    bar.value = s.stage_done;
    bar.textContent = s.stage_done + " of " + s.stage_total;
    var reason = cell.querySelector('[data-role="reason"]');
    reason.textContent = s.reason;
    reason.hidden = !s.reason;
    cell.dataset.state = s.state;
    cell.dataset.final = s.final ? "true" : "false";
  }

  function refresh(id) {
    var target = id && document.getElementById(id);
    if (!target) return Promise.resolve();
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
        if (!fresh) return;
        target.replaceWith(document.importNode(fresh, true));
        // The page's other scripts (page viewer, review forms) bind to the new elements.
        document.dispatchEvent(new CustomEvent("docanalysis:refreshed", { detail: { id: id } }));
      })
      .catch(function () { /* keep what is shown; the status itself is already final */ });
  }

  function poll(cell) {
    return fetch(cell.dataset.statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        render(cell, s);
        if (s.final) return refresh(cell.dataset.refresh);
      })
      .catch(function () { /* a transient error: try again next tick */ });
  }

  // One polling loop at most: a rows-added event while a tick waits or is in flight must not
  // start a second loop beside it (the tick in flight schedules the next, new rows included).
  var timer = null;
  var busy = false;

  function tick() {
    var cells = pending();
    if (!cells.length) return;
    busy = true;
    Promise.all(Array.prototype.map.call(cells, poll)).then(function () {
      busy = false;
      schedule();
    });
  }

  function schedule() {
    if (timer !== null || busy || !pending().length) return;
    timer = window.setTimeout(function () {
      timer = null;
      tick();
    }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", schedule);
  document.addEventListener("docanalysis:rows-added", schedule);
})();
