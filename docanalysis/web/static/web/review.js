// Correcting a clause's span by choosing its words: the page's extracted text is shown, the
// reviewer selects the words, and the selection's offsets (in the document's whole text) fill
// the form's span fields. The server quotes the words itself from those offsets; the number
// fields stay usable without JavaScript or a pointer.
(function () {
  "use strict";

  function pageUrl(base, number) {
    return base.replace(/\/pages\/\d+\/text\.json$/, "/pages/" + number + "/text.json");
  }

  // Offsets of the selection within `box` (whose text is one text node), trimmed of the
  // whitespace around the words; null when nothing in `box` is selected.
  function selected(box) {
    var sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    var range = sel.getRangeAt(0);
    if (!box.contains(range.startContainer) || !box.contains(range.endContainer)) return null;
    var before = document.createRange();
    before.selectNodeContents(box);
    before.setEnd(range.startContainer, range.startOffset);
    var start = before.toString().length;
    var text = range.toString();
    var end = start + text.length;
    var lead = text.length - text.replace(/^\s+/, "").length;
    var trail = text.length - text.replace(/\s+$/, "").length;
    start += lead;
    end -= trail;
    return end > start ? { start: start, end: end } : null;
  }

  function chooser(form) {
    var open = form.querySelector(".choose-words");
    var panel = form.querySelector(".word-chooser");
    var box = panel.querySelector(".page-text");
    var label = panel.querySelector(".chooser-page");
    var chosen = panel.querySelector(".chosen");
    var base = form.dataset.pageText;
    var page = null;

    function load(number) {
      return fetch(pageUrl(base, number), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (p) {
          page = p;
          box.textContent = p.text;
          label.textContent = "Page " + p.page + " of " + p.pages;
          panel.querySelector(".chooser-prev").disabled = p.page <= 1;
          panel.querySelector(".chooser-next").disabled = p.page >= p.pages;
        })
        .catch(function () { label.textContent = "The page's text could not be loaded."; });
    }

    open.hidden = false;
    open.addEventListener("click", function () {
      panel.hidden = false;
      var first = base.match(/\/pages\/(\d+)\/text\.json$/);
      load(first ? Number(first[1]) : 1).then(function () { box.focus(); });
    });
    panel.querySelector(".chooser-prev").addEventListener("click", function () {
      if (page) load(page.page - 1);
    });
    panel.querySelector(".chooser-next").addEventListener("click", function () {
      if (page) load(page.page + 1);
    });
    panel.querySelector(".use-selection").addEventListener("click", function () {
      var span = page && selected(box);
      if (!span) {
        chosen.textContent = "Select the clause's words in the page's text first.";
        return;
      }
      form.querySelector('input[name="start"]').value = page.start + span.start;
      form.querySelector('input[name="end"]').value = page.start + span.end;
      var words = page.text.slice(span.start, span.end);
      chosen.textContent = "Chosen on page " + page.page + ": \u201c" +
        (words.length > 160 ? words.slice(0, 157) + "\u2026" : words) + "\u201d";
    });
  }

  function bindAll() {
    document.querySelectorAll("form.review-correct[data-page-text]").forEach(function (form) {
      if (form.dataset.bound) return;
      form.dataset.bound = "true";
      chooser(form);
    });
  }

  document.addEventListener("DOMContentLoaded", bindAll);
  // live.js swaps in the findings when an analysis finishes on the open page.
  document.addEventListener("docanalysis:refreshed", bindAll);
})();
