// Management review print view: the print button (the page works without this file).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-print]")) { window.print(); }
  });
})();
