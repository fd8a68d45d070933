// ProcDesk progressive enhancements. Pages work without this file.
(function () {
  "use strict";
  // Buttons with data-confirm ask before submitting (voiding, withdrawing…).
  document.addEventListener("submit", function (ev) {
    var btn = ev.submitter;
    var msg = (btn && btn.getAttribute("data-confirm")) || ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });
  // Elements with data-autosubmit submit their form on change (filters).
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-autosubmit]") && ev.target.form) { ev.target.form.requestSubmit(); }
  });
  // A refused form: the error summary's links focus their field (not only scroll to it).
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-error-for]");
    var id = link && link.getAttribute("data-error-for");
    // A control written by hand may have only a name (radio buttons).
    var el = id && (document.getElementById(id) || document.querySelector('[name="' + CSS.escape(id) + '"]'));
    if (el) { ev.preventDefault(); focusField(el); }
  });
  // The control to focus for a field: a radio group's first option, a multi-select's search box.
  function focusField(el) {
    if (!el.matches("input, select, textarea, button")) { el = el.querySelector("input, select, textarea") || el; }
    if (el.tomselect) { el = el.tomselect.control_input; }
    el.scrollIntoView({block: "center"});
    el.focus({preventScroll: true});
  }
  // After a refused submit the first field in error has the focus. The server marks it autofocus
  // (enough without JavaScript); this also covers a field turned into a multi-select.
  function focusFirstError() {
    var first = document.querySelector('[aria-invalid="true"]');
    var active = document.activeElement;
    // Not when the user has moved on; but a multi-select's hidden list may hold the autofocus.
    if (first && (!active || active === document.body || (active === first && first.tomselect))) { focusField(first); }
  }
  // <select multiple data-multiselect> becomes a searchable multi-select (Tom Select, vendored in
  // static/vendor/tom-select, loaded only on pages that have one). Its texts come translated in
  // data-placeholder and data-no-results; without JavaScript the plain list still works.
  var script = document.currentScript;
  function vendor(path) { return new URL("../vendor/" + path, script.src).href; }
  function load(tag, attrs) {
    return new Promise(function (resolve, reject) {
      var el = Object.assign(document.createElement(tag), attrs);
      el.onload = resolve; el.onerror = reject;
      // Its stylesheet goes before ours, so app.css's look wins over the library's defaults.
      document.head.insertBefore(el, tag === "link" ? document.querySelector('link[rel="stylesheet"]') : null);
    });
  }
  function enhanceMultiselects(selects) {
    selects.forEach(function (sel) {
      if (sel.tomselect) { return; }
      var noResults = sel.getAttribute("data-no-results") || "";
      sel.removeAttribute("autofocus");
      var ts = new window.TomSelect(sel, {
        // The search box stays when it loses the focus (hidePlaceholder would hide it and the control
        // would shrink under the pointer: a click on the button below would land on the form).
        plugins: ["remove_button"], maxOptions: null, closeAfterSelect: false,
        placeholder: sel.getAttribute("data-placeholder") || "",
        render: {no_results: function (data, escape) { return '<div class="no-results">' + escape(noResults) + "</div>"; }}
      });
      ["aria-invalid", "aria-describedby", "aria-required"].forEach(function (name) {
        if (sel.hasAttribute(name)) { ts.control_input.setAttribute(name, sel.getAttribute(name)); }
      });
      var field = sel.closest(".field");
      var hint = field && field.querySelector(".multiselect-hint");
      if (hint) { hint.hidden = true; }
    });
  }
  var multiselects = document.querySelectorAll("select[multiple][data-multiselect]");
  if (multiselects.length && window.Promise && window.URL) {
    Promise.all([
      load("link", {rel: "stylesheet", href: vendor("tom-select/tom-select.min.css")}),
      load("script", {src: vendor("tom-select/tom-select.popular.min.js")})
    ]).then(function () { enhanceMultiselects(multiselects); }).catch(function () { /* the plain lists stay */ })
      .then(focusFirstError);
  } else {
    focusFirstError();
  }
  // A table wider than the screen scrolls inside its box: keyboard users must be able to reach and
  // scroll it too, so such a box takes the focus (WCAG 2.1.1) and is named after its table.
  function focusableScrollBoxes() {
    document.querySelectorAll(".table-wrap").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1 && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        var caption = box.querySelector("caption");
        var section = box.closest("section[aria-labelledby]");
        if (caption) { box.setAttribute("aria-label", caption.textContent.trim()); }
        else if (section) { box.setAttribute("aria-labelledby", section.getAttribute("aria-labelledby")); }
      }
    });
  }
  focusableScrollBoxes();
  window.addEventListener("resize", focusableScrollBoxes);
  // fetch() helper for pages that call the JSON API with the session: adds the CSRF header.
  window.procdesk = {
    csrfToken: function () { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; },
    fetchJSON: function (url, options) {
      options = options || {};
      options.headers = Object.assign({"Accept": "application/json", "X-CSRFToken": window.procdesk.csrfToken()}, options.headers || {});
      if (options.body && typeof options.body !== "string") {
        options.body = JSON.stringify(options.body);
        options.headers["Content-Type"] = "application/json";
      }
      options.credentials = "same-origin";
      return fetch(url, options).then(function (r) { return r.json().then(function (j) { return {status: r.status, body: j}; }); });
    }
  };
})();
