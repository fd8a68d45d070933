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
