// Complaint register: progressive enhancements only; every page works without this file.
(function () {
  "use strict";
  // Severity only applies to complaints: hide it for praise and suggestions on the entry form.
  function syncKind() {
    var checked = document.querySelector("input[data-kind-choice]:checked");
    var box = document.querySelector("[data-complaint-only]");
    if (!checked || !box) { return; }
    box.hidden = checked.value !== "complaint";
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("input[data-kind-choice]")) { syncKind(); }
  });
  document.addEventListener("DOMContentLoaded", syncKind);
  // Print button on the printable summary.
  document.addEventListener("click", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-print]")) { window.print(); }
  });
})();
