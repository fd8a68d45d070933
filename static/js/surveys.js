// Fast entry of paper survey forms. Without this file the form posts normally and the page reloads.
// With it: a value of the campaign's rating scale (data-values) moves to the next field as soon as no
// longer value starts with it (1 waits for a possible 10; Tab moves on), Enter saves through the JSON API,
// the counts and rates update in place and the form clears for the next paper form.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form || !window.fetch || !window.procdesk) { return; }

  var ratings = Array.prototype.slice.call(form.querySelectorAll("input[data-rating]"));
  var values = (form.getAttribute("data-values") || "1,2,3,4,5").split(",");
  var status = form.querySelector(".entry-status");
  var saveButton = form.querySelector("[type=submit]");
  var busy = false;

  function fields() {
    // Keyboard order: ratings, then room and comments.
    return ratings.concat([form.elements.room, form.elements.comments]);
  }

  function focusNext(el) {
    var list = fields();
    var i = list.indexOf(el);
    if (i >= 0 && i + 1 < list.length) { list[i + 1].focus(); list[i + 1].select && list[i + 1].select(); }
  }

  function setError(key, message) {
    var slot = form.querySelector('[data-error-for="' + key + '"]');
    if (!slot) { return false; }
    slot.textContent = message || "";
    var row = slot.closest(".rating-row, .field");
    if (row) { row.classList.toggle("has-error", !!message); }
    return true;
  }

  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-error-for]"), function (slot) {
      setError(slot.getAttribute("data-error-for"), "");
    });
  }

  function errorKey(input) {
    return input.closest(".rating-row").querySelector("[data-error-for]").getAttribute("data-error-for");
  }

  ratings.forEach(function (input, index) {
    input.addEventListener("input", function () {
      var v = input.value.trim();
      var key = errorKey(input);
      if (v === "") { setError(key, ""); return; }
      var longer = values.some(function (x) { return x.length > v.length && x.indexOf(v) === 0; });
      if (values.indexOf(v) >= 0 && !longer) {
        setError(key, "");
        focusNext(input);
      } else if (longer) {
        setError(key, "");
      } else {
        input.value = "";
        setError(key, form.getAttribute("data-msg-digit"));
      }
    });
    input.addEventListener("focus", function () { input.select(); });
    // Backspace in an empty rating goes back one question, to correct a slip quickly.
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Backspace" && input.value === "" && index > 0) {
        ev.preventDefault();
        ratings[index - 1].focus();
      }
    });
  });

  function percent(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  function number(value) {
    return Number(value).toLocaleString("en-US");
  }

  function updateStats(campaign) {
    var r = campaign.rates;
    Array.prototype.forEach.call(document.querySelectorAll("[data-stat]"), function (el) {
      var key = el.getAttribute("data-stat");
      if (!(key in r)) { return; }
      el.textContent = /_rate$/.test(key) ? percent(r[key]) : number(r[key]);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-flag]"), function (el) {
      el.classList.toggle("card-low", !!r.flags[el.getAttribute("data-flag")]);
    });
  }

  function addRecent(resp) {
    var body = document.getElementById("recent-forms");
    if (!body) { return; }
    var tr = document.createElement("tr");
    [String(resp.id), resp.room || "—", (String(resp.overall) + " " + (resp.overall_label || "")).trim(), new Date(resp.entered_at).toLocaleString("zh-CN", {hour12: false})]
      .forEach(function (text, i) {
        var td = document.createElement("td");
        if (i === 0 || i === 2) { td.className = "num"; }
        td.textContent = text;
        tr.appendChild(td);
      });
    body.insertBefore(tr, body.firstChild);
    while (body.children.length > 8) { body.removeChild(body.lastChild); }
  }

  function payload() {
    var data = {source: "paper", overall: form.elements.overall.value, room: form.elements.room.value,
                comments: form.elements.comments.value, ratings: {}};
    ratings.forEach(function (input) {
      if (input.name !== "overall") { data.ratings[input.name.replace(/^r_/, "")] = input.value; }
    });
    return data;
  }

  function reset() {
    fields().forEach(function (el) { el.value = ""; });
    clearErrors();
    form.elements.overall.focus();
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) { return; }
    busy = true;
    saveButton.disabled = true;
    clearErrors();
    window.procdesk.fetchJSON(form.getAttribute("data-api"), {method: "POST", body: payload()})
      .then(function (res) {
        if (res.status === 201) {
          updateStats(res.body.campaign);
          addRecent(res.body.response);
          status.className = "entry-status ok";
          status.textContent = form.getAttribute("data-msg-saved").replace("{id}", res.body.response.id);
          reset();
          return;
        }
        var placed = false;
        var errors = res.body.errors || {};
        Object.keys(errors).forEach(function (key) { placed = setError(key, errors[key].join(" ")) || placed; });
        status.className = "entry-status bad";
        status.textContent = res.body.message || "";
        var first = form.querySelector(".has-error input");
        (first || form.elements.overall).focus();
        if (!placed && res.status >= 500) { status.textContent = form.getAttribute("data-msg-network"); }
      })
      .catch(function () {
        status.className = "entry-status bad";
        status.textContent = form.getAttribute("data-msg-network");
      })
      .then(function () { busy = false; saveButton.disabled = false; });
  });
})();
