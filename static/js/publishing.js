// ProcDesk publishing editor: live preview, .md upload into the editor, next-version hint,
// and a warning before leaving with unpublished changes. The page works without this file
// (the server renders a preview on every submit).
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-url]");
  if (!form || !window.procdesk) { return; }
  var textarea = form.querySelector("textarea[data-editor]");
  var output = document.querySelector("[data-preview]");
  var errorList = document.querySelector("[data-preview-errors]");
  var status = document.querySelector("[data-preview-status]");
  var fileInput = form.querySelector("input[type=file]");
  var edition = form.querySelector("input[name=new_edition]");
  var timer = null;
  var sequence = 0;
  var dirty = form.getAttribute("data-dirty") === "1";
  var submitting = false;

  function showErrors(errors) {
    errorList.textContent = "";
    var count = 0;
    Object.keys(errors || {}).forEach(function (key) {
      (errors[key] || []).forEach(function (message) {
        var li = document.createElement("li");
        li.textContent = message;
        errorList.appendChild(li);
        count += 1;
      });
    });
    errorList.hidden = count === 0;
  }

  function refresh() {
    var mine = ++sequence;
    status.textContent = form.getAttribute("data-msg-updating");
    window.procdesk.fetchJSON(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: {markdown: textarea.value, code: form.getAttribute("data-code") || null}
    }).then(function (result) {
      if (mine !== sequence) { return; }  // an older answer arriving late
      // The server returns sanitised HTML (nh3 allowlist), the same as the published page.
      output.innerHTML = result.body.html || "";
      showErrors(result.body.errors || (result.body.message ? {markdown: [result.body.message]} : {}));
      status.textContent = "";
      output.setAttribute("data-updated", String(mine));
    }).catch(function () {
      if (mine === sequence) { status.textContent = form.getAttribute("data-msg-failed"); }
    });
  }

  function schedule() {
    dirty = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }

  if (textarea) { textarea.addEventListener("input", schedule); }

  if (fileInput) {
    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      if (!file) { return; }
      var reader = new FileReader();
      reader.onload = function () {
        // Shown for checking; the server still validates the file itself (UTF-8, size).
        textarea.value = String(reader.result || "").replace(/^\ufeff/, "");
        schedule();
      };
      reader.readAsText(file, "utf-8");
    });
  }

  function showNextVersion() {
    var revision = document.querySelector("[data-next=revision]");
    var next = document.querySelector("[data-next=edition]");
    if (!revision || !next || !edition) { return; }
    revision.hidden = edition.checked;
    next.hidden = !edition.checked;
  }
  if (edition) { edition.addEventListener("change", showNextVersion); showNextVersion(); }

  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty && !submitting) {
      ev.preventDefault();
      ev.returnValue = form.getAttribute("data-msg-leave");
      return ev.returnValue;
    }
    return undefined;
  });
})();
