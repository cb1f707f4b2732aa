// Live status without reloading: every status cell whose run is not final polls its
// status.json every 1.5 s and stops at a final state. When a run becomes final, the element
// named by data-refresh (a table row, the findings) is re-fetched and swapped in place.
// Also: dropping PDFs on an upload form fills its file input and submits it.
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
        if (fresh) target.replaceWith(document.importNode(fresh, true));
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

  function tick() {
    var cells = pending();
    if (!cells.length) return;
    Promise.all(Array.prototype.map.call(cells, poll)).then(function () {
      if (pending().length) window.setTimeout(tick, POLL_MS);
    });
  }

  function dropzone(form) {
    var input = form.querySelector('input[type="file"]');
    ["dragenter", "dragover"].forEach(function (name) {
      form.addEventListener(name, function (e) {
        e.preventDefault();
        form.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      form.addEventListener(name, function () { form.classList.remove("dragging"); });
    });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      input.files = e.dataTransfer.files;
      form.requestSubmit();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-dropzone]").forEach(dropzone);
    if (pending().length) window.setTimeout(tick, POLL_MS);
  });
})();
