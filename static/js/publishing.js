// ProcDesk publishing editor: live preview (form mode: the front-matter fields and the body; source
// mode: the whole file), .md upload into the editor, next-version hint, the focus on the first field in
// error after a refused submit, and a warning before leaving with unpublished changes. The page works
// without this file (the server renders a preview on every submit and marks the first error autofocus).
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-url]");
  if (!form) { return; }

  // After a refused submit: the first field in error (else the banner) has the focus, so the message
  // is where the user is; the banner's links move the focus to their field.
  var banner = form.querySelector(".form-errors");
  function focusField(el) {
    el.scrollIntoView({block: "center"});
    el.focus({preventScroll: true});
  }
  var firstInvalid = form.querySelector('[aria-invalid="true"]');
  if (firstInvalid) {
    focusField(firstInvalid);
  } else if (banner) {
    focusField(banner);
  }
  if (banner) {
    banner.addEventListener("click", function (ev) {
      var link = ev.target.closest("a[data-focus]");
      var target = link && document.getElementById(link.getAttribute("data-focus"));
      if (target) { ev.preventDefault(); focusField(target); }
    });
  }

  if (!window.procdesk) { return; }
  var textarea = form.querySelector("textarea[data-editor]");
  var fieldsMode = !!form.querySelector("[data-mode=fields]");
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

  function value(name) {
    var el = form.elements.namedItem(name);
    return el && typeof el.value === "string" ? el.value : "";
  }

  // What the preview checks: in form mode the fields and the body (the server composes the file).
  function previewBody() {
    var code = form.getAttribute("data-code") || null;
    if (!fieldsMode) { return {markdown: textarea.value, code: code}; }
    var departments = Array.prototype.map.call(
      form.querySelectorAll("input[name=departments]:checked"), function (el) { return el.value; });
    return {code: code, fields: {
      code: value("code"), title: value("title"), departments: departments, effective: value("effective"),
      review_months: value("review_months"), owner: value("owner"), extra: value("extra"), body: textarea.value
    }};
  }

  function refresh() {
    var mine = ++sequence;
    status.textContent = form.getAttribute("data-msg-updating");
    window.procdesk.fetchJSON(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: previewBody()
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
  var front = form.querySelector("[data-testid=front-fields]");
  if (front) {
    front.addEventListener("input", schedule);
    front.addEventListener("change", schedule);
  }

  if (fileInput) {
    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      if (!file) { return; }
      dirty = true;
      if (fieldsMode) { return; }  // a whole file: the server opens it in source mode if it is refused
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
