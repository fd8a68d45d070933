// Procedures: progressive enhancements (every page works without this file).
(function () {
  "use strict";
  // Table of contents: open beside the text on wide screens, folded on phones.
  var toc = document.querySelector("details[data-toc]");
  if (toc && window.matchMedia("(min-width: 1000px)").matches) { toc.open = true; }
  if (toc) {
    toc.addEventListener("click", function (ev) {
      if (ev.target.closest("a") && !window.matchMedia("(min-width: 1000px)").matches) { toc.open = false; }
    });
  }
  // Redline: unchanged runs are folded; a button shows them.
  var redline = document.querySelector("[data-expand-label]");
  if (redline) {
    var label = redline.getAttribute("data-expand-label");
    redline.classList.add("folding");
    redline.querySelectorAll(".rl-skip").forEach(function (skip) {
      var n = skip.getAttribute("data-lines");
      if (!skip.children.length) { return; }
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "rl-skip-toggle";
      btn.textContent = label.replace("{n}", n);
      btn.addEventListener("click", function () { skip.classList.add("open"); btn.remove(); });
      skip.insertBefore(btn, skip.firstChild);
    });
  }
  // Print page: the Print button.
  document.querySelectorAll("[data-print]").forEach(function (btn) {
    btn.addEventListener("click", function () { window.print(); });
  });
})();
