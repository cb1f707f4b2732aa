// Dates in the reader's own language and time zone. The server writes every moment as UTC
// (a <time datetime="..."> with readable UTC text, which is what shows without script); here
// the text becomes the browser's locale and zone, and the UTC text stays as the tooltip.
// <time data-utc> (the audit trail, whose filters and exports are in UTC) keeps UTC and its
// seconds, written in the reader's locale.
(function () {
  "use strict";
  var MINUTES = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var UTC = new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium", timeStyle: "long", timeZone: "UTC",
  });

  function localize(root) {
    root.querySelectorAll("time[datetime]:not([data-localized])").forEach(function (el) {
      var value = el.getAttribute("datetime");
      // A bare date (YYYY-MM-DD) names a day, not a moment: nothing to convert.
      if (!/T\d\d:\d\d/.test(value)) return;
      // Without an offset (a naive time from SQLite) the value is still UTC, which is what
      // the server always writes; a browser would read it as its own local time.
      if (!/(Z|[+-]\d\d:?\d\d)$/.test(value)) value += "Z";
      var when = new Date(value);
      if (isNaN(when.getTime())) return;
      var format = el.hasAttribute("data-utc") ? UTC : MINUTES;
      el.title = el.textContent.trim();
      el.textContent = format.format(when);
      el.dataset.localized = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    // Rows that live.js swaps in after an analysis ends carry fresh UTC <time>s.
    new MutationObserver(function () { localize(document); })
      .observe(document.body, { childList: true, subtree: true });
  });
})();
