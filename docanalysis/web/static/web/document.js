// The document view's page viewer. A clause's "Show on page" link, or a citation of the
// summary, loads the original page into the viewer, draws the passage's lines on it, brings
// the first line into view and moves focus to the viewer, which announces the page. Without
// script the same links reload the page with the viewer there, drawn by the server.
// Listeners sit on the document, not on the links: live.js swaps the findings in when an
// analysis ends, and the new ones must work too. Also: date values (YYYY-MM-DD) in the
// reader's language; dates.js does the moments (uploaded at, ...).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var SCALE = 2; // as the server's default: sharp on dense screens and at 200% zoom
  var origin = null; // the link that last showed a passage, for "Back to the clause"

  function viewer() {
    return document.getElementById("viewer");
  }

  function part(v, role) {
    return v.querySelector('[data-role="' + role + '"]');
  }

  function imageUrl(v, page) {
    return v.dataset.imageUrl.replace(/\/pages\/\d+\.png$/, "/pages/" + page + ".png") +
      "?scale=" + SCALE;
  }

  // The page's own URL for page n without script: the filters kept, any passage dropped.
  function pageHref(page) {
    var params = new URLSearchParams(window.location.search);
    params.delete("start");
    params.delete("end");
    params.set("page", page);
    return "?" + params.toString() + "#viewer";
  }

  function setStep(link, page, total) {
    if (page >= 1 && page <= total) {
      link.href = pageHref(page);
      link.dataset.to = page;
      link.removeAttribute("aria-disabled");
    } else {
      link.removeAttribute("href"); // no href: out of the tab order, as a disabled control
      link.setAttribute("aria-disabled", "true");
    }
  }

  // Show page n (without highlights); resolves once its image can be laid out.
  function showPage(v, page, size) {
    var total = Number(v.dataset.pages);
    page = Math.min(Math.max(page, 1), total);
    v.dataset.page = page;
    part(v, "page").textContent = page;
    setStep(part(v, "prev"), page - 1, total);
    setStep(part(v, "next"), page + 1, total);
    drawBoxes(v, []);
    var img = part(v, "image");
    img.alt = "Page " + page + " of the original document";
    if (size) { // the page's proportions before its pixels arrive: no jump in the layout
      img.setAttribute("width", Math.round(size.width));
      img.setAttribute("height", Math.round(size.height));
    }
    var url = imageUrl(v, page);
    if (img.getAttribute("src") !== url) img.src = url;
    if (img.complete) return Promise.resolve();
    return new Promise(function (resolve) {
      img.addEventListener("load", resolve, { once: true });
      img.addEventListener("error", resolve, { once: true });
    });
  }

  // Boxes are fractions of the page: the SVG spans the image, so they follow its size.
  function drawBoxes(v, boxes) {
    var svg = part(v, "boxes");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    boxes.forEach(function (b) {
      var rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("class", "highlight");
      rect.setAttribute("x", b[0]);
      rect.setAttribute("y", b[1]);
      rect.setAttribute("width", Math.max(b[2] - b[0], 0));
      rect.setAttribute("height", Math.max(b[3] - b[1], 0));
      svg.appendChild(rect);
    });
    return svg.querySelector("rect");
  }

  function announce(v, text) {
    var status = part(v, "announce");
    status.textContent = "";
    // A new text node in the next frame: screen readers announce a repeated message too.
    window.requestAnimationFrame(function () { status.textContent = text; });
  }

  // Bring a box into view: inside the viewer where it scrolls on its own (wide screens, the
  // viewer sticks beside the clauses), or the window (one column).
  function reveal(v, box) {
    var target = box || v;
    if (window.getComputedStyle(v).position === "sticky" && v.scrollHeight > v.clientHeight) {
      var outer = v.getBoundingClientRect();
      var inner = target.getBoundingClientRect();
      v.scrollTop += inner.top - outer.top - (v.clientHeight - inner.height) / 2;
    } else {
      target.scrollIntoView({ block: box ? "center" : "start" });
    }
  }

  function focusViewer(v, box) {
    v.focus({ preventScroll: true });
    reveal(v, box);
  }

  function showPassage(v, link) {
    origin = link;
    var back = part(v, "back");
    var clause = link.closest("li[id]");
    back.href = "#" + (clause ? clause.id : "clauses-heading");
    back.hidden = false;
    v.setAttribute("aria-busy", "true");
    var url = v.dataset.highlightUrl + "?start=" + encodeURIComponent(link.dataset.start) +
      "&end=" + encodeURIComponent(link.dataset.end);
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (found) {
        return showPage(v, found.page, found).then(function () {
          var first = drawBoxes(v, found.boxes);
          focusViewer(v, first);
          announce(v, first
            ? "Page " + found.page + ", clause highlighted"
            : "Page " + found.page + "; the clause's words could not be located on the image");
        });
      })
      .catch(function () {
        showPage(v, Number(link.dataset.page)).then(function () { focusViewer(v, null); });
        announce(v, "Page " + link.dataset.page + "; the clause could not be highlighted");
      })
      .then(function () { v.removeAttribute("aria-busy"); });
  }

  function step(v, page) {
    showPage(v, page).then(function () {
      announce(v, "Page " + v.dataset.page + " of " + v.dataset.pages);
    });
  }

  function plainClick(e) {
    return e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey;
  }

  document.addEventListener("click", function (e) {
    var v = viewer();
    if (!v || e.defaultPrevented || !plainClick(e)) return;
    var passage = e.target.closest("a[data-start][data-end]");
    var pageStep = e.target.closest("#viewer a[data-to][href]");
    var back = e.target.closest('#viewer [data-role="back"]');
    var whole = e.target.closest("a[data-show-page]");
    if (passage) {
      e.preventDefault();
      showPassage(v, passage);
    } else if (pageStep) {
      e.preventDefault();
      step(v, Number(pageStep.dataset.to));
    } else if (whole) {
      e.preventDefault();
      origin = null;
      part(v, "back").hidden = true;
      showPage(v, Number(whole.dataset.showPage)).then(function () {
        focusViewer(v, null);
        announce(v, "Page " + v.dataset.page + " of " + v.dataset.pages);
      });
    } else if (back && origin && document.body.contains(origin)) {
      e.preventDefault();
      origin.focus({ preventScroll: true });
      origin.scrollIntoView({ block: "center" });
    }
  });

  // Left and right arrows turn the pages while the viewer itself has focus.
  document.addEventListener("keydown", function (e) {
    var v = viewer();
    if (!v || e.target !== v || e.altKey || e.ctrlKey || e.metaKey) return;
    var delta = { ArrowLeft: -1, ArrowRight: 1 }[e.key];
    if (!delta) return;
    var page = Number(v.dataset.page) + delta;
    if (page < 1 || page > Number(v.dataset.pages)) return;
    e.preventDefault();
    step(v, page);
  });

  var DAY = new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeZone: "UTC" });

  // A clause's date value names a day: the reader's way of writing it, the ISO date as a tip.
  function localizeDays(root) {
    root.querySelectorAll("time.value-date:not([data-localized])").forEach(function (el) {
      var value = el.getAttribute("datetime");
      var day = new Date(value + "T00:00:00Z");
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || isNaN(day.getTime())) return;
      el.title = value;
      el.textContent = DAY.format(day);
      el.dataset.localized = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localizeDays(document);
    new MutationObserver(function () { localizeDays(document); })
      .observe(document.body, { childList: true, subtree: true });
    var v = viewer();
    var first = v && part(v, "boxes").querySelector("rect");
    // Arrived by a "Show on page" link without script's help (or a shared link): the
    // server drew the passage; bring it into view once the page image is there.
    if (first && window.location.hash === "#viewer") {
      var img = part(v, "image");
      var go = function () { focusViewer(v, first); };
      if (img.complete) go(); else img.addEventListener("load", go, { once: true });
    }
  });
})();
