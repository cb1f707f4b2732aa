// Uploads without leaving the page. Files chosen in the picker or dropped on the upload form
// are listed, and each is sent in a request of its own (two at a time), so every file has its
// own progress bar and its own outcome: uploaded, already in the matter, refused with the
// server's reason, or password-protected (a password field in its row retries that one file;
// the password goes with that one request and is not kept). When the last one has finished,
// the documents section is fetched again and swapped in, and live.js is told to poll the new
// rows. Without JavaScript the form posts all the files at once and the page comes back.
(function () {
  "use strict";
  var CONCURRENT = 2;
  var DOCUMENTS_ID = "matter-documents";
  var rows = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return Math.round(bytes / 1024) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function hasFiles(e) {
    return !!e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") !== -1;
  }

  // One row: name, size, a <progress> (its text and aria-valuetext say "45%"), a message.
  function makeItem(file) {
    rows += 1;
    var row = el("li", "upload-row");
    row.id = "upload-" + rows;
    var head = el("div", "upload-head");
    head.append(el("span", "upload-name", file.name), el("span", "upload-size muted", size(file.size)));
    var bar = el("progress", "upload-progress", "0%");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    var percent = el("span", "upload-percent", "0%");
    percent.setAttribute("aria-hidden", "true");  // the bar says it already
    var message = el("p", "upload-message");
    message.setAttribute("role", "status");
    row.append(head, bar, percent, message);
    return { file: file, row: row, bar: bar, percent: percent, message: message, password: null };
  }

  function progress(item, fraction) {
    var pct = Math.max(0, Math.min(100, Math.round(fraction * 100))) + "%";
    item.bar.value = parseInt(pct, 10);
    item.bar.textContent = pct;
    item.bar.setAttribute("aria-valuetext", pct);
    item.percent.textContent = pct;
  }

  function showBar(item, shown) {
    item.bar.hidden = !shown;
    item.percent.hidden = !shown;
  }

  function say(item, state, text) {
    item.row.dataset.state = state;
    item.message.textContent = text;
  }

  function refuse(item, reason) {
    showBar(item, false);
    say(item, "refused", reason);
  }

  // "Uploaded: analysis started. Open x.pdf" / "Already in this matter: open it".
  function conclude(item, state, text, url, linkText) {
    say(item, state, text);
    var link = el("a", "", linkText);
    link.href = url;
    item.message.appendChild(link);
  }

  function tooLarge(file, limit) {
    return file.name + " is larger than the " + Math.floor(limit / (1024 * 1024)) + " MB limit";
  }

  function add(up, files) {
    // The server's limit, rendered into the form (empty: the server alone checks it).
    var limit = parseInt(up.form.dataset.maxBytes, 10) || 0;
    up.list.hidden = false;
    Array.prototype.forEach.call(files, function (file) {
      var item = makeItem(file);
      up.list.appendChild(item.row);
      // Refused at once, before a byte is sent; the server checks the same limit.
      if (limit && file.size > limit) return refuse(item, tooLarge(file, limit));
      enqueue(up, item);
    });
  }

  function enqueue(up, item) {
    progress(item, 0);
    showBar(item, true);
    say(item, "queued", "Waiting to upload");
    up.waiting.push(item);
    pump(up);
  }

  function pump(up) {
    while (up.active < CONCURRENT && up.waiting.length) {
      up.active += 1;
      send(up, up.waiting.shift());
    }
    if (!up.active && !up.waiting.length && up.accepted) {
      up.accepted = 0;
      refreshDocuments();
    }
  }

  function send(up, item) {
    var xhr = new XMLHttpRequest();
    var body = new FormData();
    body.append("files", item.file, item.file.name);
    if (item.password) body.append("password", item.password);
    item.password = null;  // used for this one request only
    xhr.open("POST", up.form.action);
    xhr.setRequestHeader("X-CSRFToken", up.token);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) progress(item, e.loaded / e.total);
    });
    var settled = false;
    function settle(status, answer) {
      if (settled) return;
      settled = true;
      up.active -= 1;
      outcome(up, item, status, answer);
      pump(up);
    }
    xhr.addEventListener("load", function () { settle(xhr.status, parse(xhr)); });
    ["error", "abort", "timeout"].forEach(function (name) {
      xhr.addEventListener(name, function () { settle(0, null); });
    });
    say(item, "uploading", "Uploading");
    xhr.send(body);
  }

  function parse(xhr) {
    if ((xhr.getResponseHeader("Content-Type") || "").indexOf("application/json") !== 0) return null;
    try {
      return JSON.parse(xhr.responseText);
    } catch (e) {
      return null;
    }
  }

  function outcome(up, item, status, answer) {
    var name = item.file.name;
    if (!answer) {
      // Not our JSON: the connection failed, the session ended (a sign-in page), a server error.
      var why = status ? "the server answered " + status : "the connection failed";
      return refuse(item, name + " was not uploaded (" + why + "): reload the page and try again");
    }
    progress(item, 1);
    if (status === 201 && answer.documents) {
      // A .zip: all its documents were accepted; the list below shows them.
      up.accepted += answer.documents.length;
      return conclude(item, "done", answer.message + " ", answer.url, "Show the matter");
    }
    if (status === 201) {
      up.accepted += 1;
      return conclude(item, "done", "Uploaded: analysis started. ", answer.url, "Open " + name);
    }
    if (answer.duplicate) return conclude(item, "duplicate", "Already in this matter: ", answer.url, "open it");
    if (answer.error === "password_required" || answer.error === "password_wrong") {
      return askPassword(up, item, answer.message, answer.error === "password_wrong");
    }
    refuse(item, answer.message || name + " was refused");
  }

  function askPassword(up, item, message, again) {
    showBar(item, false);
    say(item, "password", message);
    if (!item.unlock) item.unlock = passwordForm(up, item);
    item.unlock.form.hidden = false;
    // Focus only on a retry: the first ask must not pull focus from where the user is.
    if (again) item.unlock.input.focus();
  }

  function passwordForm(up, item) {
    var form = el("form", "upload-unlock");
    var id = item.row.id + "-password";
    var label = el("label", "", "Password for " + item.file.name);
    label.htmlFor = id;
    var input = el("input");
    input.type = "password";
    input.id = id;
    input.required = true;
    input.autocomplete = "off";
    var button = el("button", "", "Unlock and upload");
    button.type = "submit";
    form.append(label, input, button);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      item.password = input.value;
      input.value = "";
      form.hidden = true;
      enqueue(up, item);
    });
    item.row.appendChild(form);
    return { form: form, input: input };
  }

  function refreshDocuments() {
    if (!document.getElementById(DOCUMENTS_ID)) return;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(DOCUMENTS_ID);
        var current = document.getElementById(DOCUMENTS_ID);
        if (!fresh || !current) return;
        current.replaceWith(document.importNode(fresh, true));
        document.dispatchEvent(new CustomEvent("docanalysis:rows-added"));
      })
      .catch(function () { /* each row says what happened; the table is right on the next load */ });
  }

  function dropzone(up) {
    var form = up.form;
    ["dragenter", "dragover"].forEach(function (name) {
      form.addEventListener(name, function (e) {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
        form.classList.add("dragging");
      });
    });
    form.addEventListener("dragleave", function (e) {
      if (!form.contains(e.relatedTarget)) form.classList.remove("dragging");
    });
    form.addEventListener("drop", function (e) {
      form.classList.remove("dragging");
      if (!hasFiles(e)) return;
      e.preventDefault();
      add(up, e.dataTransfer.files);
    });
  }

  // A file dropped just beside the zone would make the browser open it and leave the page,
  // with the uploads in flight; and leaving while files are uploading asks first.
  function guardPage(up) {
    window.addEventListener("dragover", function (e) {
      if (hasFiles(e) && !e.defaultPrevented) {
        e.preventDefault();
        e.dataTransfer.dropEffect = "none";
      }
    });
    window.addEventListener("drop", function (e) {
      if (hasFiles(e) && !e.defaultPrevented) e.preventDefault();
    });
    window.addEventListener("beforeunload", function (e) {
      if (up.active || up.waiting.length) e.preventDefault();
    });
  }

  function picker(up) {
    function take() {
      if (!up.input.files.length) return;
      add(up, up.input.files);
      up.input.value = "";  // the same file may be chosen again
    }
    up.input.addEventListener("change", take);
    up.form.addEventListener("submit", function (e) {
      e.preventDefault();
      take();
    });
  }

  function setup(form) {
    var token = form.querySelector('input[name="csrfmiddlewaretoken"]');
    var up = {
      form: form,
      input: form.querySelector('input[type="file"]'),
      list: document.getElementById(form.dataset.uploadList),
      token: token ? token.value : "",
      waiting: [],
      active: 0,
      accepted: 0,
    };
    if (!up.input || !up.list) return;
    up.input.required = false;  // files are taken as they come; an empty submit does nothing
    form.querySelectorAll("[data-nojs-only]").forEach(function (n) { n.hidden = true; });
    form.querySelectorAll("[data-js-only]").forEach(function (n) { n.hidden = false; });
    picker(up);
    dropzone(up);
    guardPage(up);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-dropzone]").forEach(setup);
  });
})();
