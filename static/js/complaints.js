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
  // The handler list offers the chosen project's staff only (the server checks the same rule).
  function syncHandlers() {
    var project = document.querySelector("select#project_id");
    var handler = document.querySelector("select#handler_id");
    if (!project || !handler) { return; }
    Array.prototype.forEach.call(handler.options, function (option) {
      var projects = option.getAttribute("data-projects");
      if (projects === null) { return; }
      var fits = !project.value || projects.split(" ").indexOf(project.value) >= 0;
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) { handler.value = ""; }
    });
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("select#project_id")) { syncHandlers(); }
  });
  document.addEventListener("DOMContentLoaded", syncHandlers);
  // Print button on the printable summary.
  document.addEventListener("click", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-print]")) { window.print(); }
  });
})();
