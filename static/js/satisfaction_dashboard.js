// Satisfaction dashboard charts (Apache ECharts, vendored). The page works without this file: every chart's
// numbers are in the table under it. The charts draw the figures of /api/v1/satisfaction/dashboard (the same
// numbers as the tables); the words come from the page (data-text), so nothing here needs translating.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root || !window.echarts || !window.fetch) { return; }

  var text = JSON.parse(root.getAttribute("data-text") || "{}");
  var lang = document.documentElement.lang || "zh-CN";
  var pctFormat = new Intl.NumberFormat(lang, {style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1});
  var numFormat = new Intl.NumberFormat(lang);
  var COLORS = {met: "#1d7a46", met_uncertain: "#6a9f3a", below_noise: "#c77700", below: "#b42318", none: "#8a94a3"};
  var SERIES = ["#1f5fa8", "#c77700", "#1d7a46", "#8e44ad", "#b42318", "#16838f", "#7f6a00", "#5f6b7a"];
  var ROW_HEIGHT = 26;
  var VISIBLE_ROWS = 20;
  var charts = [];
  // Canvas text takes a real font list, not "inherit": the page's own (with its CJK fonts).
  var FONT = window.getComputedStyle(document.body).fontFamily || "sans-serif";

  function pct(v) { return v === null || v === undefined ? "—" : pctFormat.format(v); }
  function num(v) { return v === null || v === undefined ? "—" : numFormat.format(v); }
  function narrow() { return root.clientWidth < 600; }

  // Tooltips are drawn by ECharts itself (richText), not as HTML: the page's CSP allows no inline styles.
  function tooltip(trigger, formatter) {
    return {trigger: trigger, renderMode: "richText", confine: true, formatter: formatter,
            axisPointer: {type: trigger === "axis" ? "shadow" : "line"}};
  }

  function percentAxis(extra) {
    var axis = {type: "value", axisLabel: {formatter: function (v) { return Math.round(v * 100) + "%"; }},
                splitLine: {lineStyle: {color: "#e5e9ef"}}};
    return Object.assign(axis, extra || {});
  }

  function targetLine(value, name) {
    return {silent: true, symbol: "none", lineStyle: {color: "#1d2330", type: "dashed", width: 1.5},
            label: {formatter: name + " " + pct(value), position: "insideEndTop", color: "#1d2330"},
            data: [{yAxis: value}]};
  }

  // The 95 % interval as an error bar: data items are [low, high, category index].
  function intervalSeries(items, horizontal) {
    return {
      type: "custom", name: text.interval, z: 5, silent: true,
      encode: horizontal ? {x: [0, 1], y: 2} : {x: 2, y: [0, 1]},
      data: items,
      renderItem: function (params, api) {
        var at = api.value(2);
        var lo = api.coord(horizontal ? [api.value(0), at] : [at, api.value(0)]);
        var hi = api.coord(horizontal ? [api.value(1), at] : [at, api.value(1)]);
        var band = horizontal ? api.size([0, 1])[1] : api.size([1, 0])[0];
        var half = Math.max(3, Math.min(8, band * 0.25));
        var style = {stroke: "#1d2330", lineWidth: 1.3};
        var caps = horizontal
          ? [[lo[0], lo[1] - half, lo[0], lo[1] + half], [hi[0], hi[1] - half, hi[0], hi[1] + half]]
          : [[lo[0] - half, lo[1], lo[0] + half, lo[1]], [hi[0] - half, hi[1], hi[0] + half, hi[1]]];
        var children = [{type: "line", shape: {x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1]}, style: style}];
        caps.forEach(function (c) {
          children.push({type: "line", shape: {x1: c[0], y1: c[1], x2: c[2], y2: c[3]}, style: style});
        });
        return {type: "group", children: children};
      }
    };
  }

  // A chart over time (years or months): legend on top, one tooltip per period.
  function overTime(labels, describe, yAxis, series) {
    return {
      height: 330,
      option: {
        grid: {left: 8, right: 16, top: 40, bottom: 24, containLabel: true},
        legend: {type: "scroll", top: 0},
        tooltip: tooltip("axis", function (params) { return describe(params[0].dataIndex, params); }),
        xAxis: {type: "category", data: labels},
        yAxis: yAxis,
        series: series
      }
    };
  }

  function rateText(name, rate) {
    var lines = [name, text.satisfaction + " " + pct(rate.value) + " (" + num(rate.successes) + " / " + num(rate.n) + ")"];
    if (rate.n) {
      lines.push(text.interval + " " + pct(rate.low) + " – " + pct(rate.high));
      lines.push(text.labels[rate.label] + (rate.small_sample ? " · " + text.small_sample : ""));
    }
    return lines.join("\n");
  }

  // Horizontal bars of satisfaction rates with their intervals (projects, campaigns, categories), lowest first.
  function rateBars(items, target) {
    items = items.filter(function (it) { return it.rate.n > 0; });
    if (!items.length) { return null; }
    items.sort(function (a, b) { return a.rate.value - b.rate.value; });
    var names = items.map(function (it) { return it.name; });
    var zoom = items.length > VISIBLE_ROWS;
    return {
      height: Math.min(items.length, VISIBLE_ROWS) * ROW_HEIGHT + 90,
      option: {
        grid: {left: 8, right: zoom ? 44 : 24, top: 28, bottom: 28, containLabel: true},
        tooltip: tooltip("axis", function (params) {
          var p = params[0];
          return rateText(p.name, items[p.dataIndex].rate);
        }),
        xAxis: percentAxis({min: 0, max: 1}),
        yAxis: {type: "category", data: names, inverse: true,
                axisLabel: {width: narrow() ? 90 : 180, overflow: "truncate", interval: 0}},
        dataZoom: zoom ? [{type: "slider", yAxisIndex: 0, right: 4, width: 18, startValue: 0,
                           endValue: VISIBLE_ROWS - 1, showDetail: false, brushSelect: false},
                          {type: "inside", yAxisIndex: 0, zoomOnMouseWheel: false, moveOnMouseWheel: true}] : [],
        series: [
          {type: "bar", name: text.satisfaction, barMaxWidth: 18,
           data: items.map(function (it) {
             return {value: it.rate.value, itemStyle: {color: COLORS[it.rate.label || "none"],
                                                       opacity: it.rate.small_sample ? 0.55 : 1}};
           }),
           markLine: {silent: true, symbol: "none", lineStyle: {color: "#1d2330", type: "dashed", width: 1.5},
                      label: {formatter: text.target + " " + pct(target), position: "end"},
                      data: [{xAxis: target}]}},
          intervalSeries(items.map(function (it, i) { return [it.rate.low, it.rate.high, i]; }), true)
        ]
      }
    };
  }

  function surveyRows(data) {
    return rateBars(data.surveys.rows.map(function (r) { return {name: r.title, rate: r.satisfaction}; }),
                    data.targets.satisfaction);
  }

  function categories(data) {
    return rateBars(data.surveys.categories.map(function (c) { return {name: c.name, rate: c.satisfaction}; }),
                    data.targets.satisfaction);
  }

  function trend(data) {
    var years = data.surveys.trend;
    if (!years.length) { return null; }
    var labels = years.map(function (y) { return String(y.year); });
    var sat = years.map(function (y) { return y.satisfaction.value; });
    var lowest = Math.min.apply(null, years.map(function (y) {
      return Math.min(y.satisfaction.low === null ? 1 : y.satisfaction.low,
                      y.distribution_rate === null ? 1 : y.distribution_rate,
                      y.return_rate === null ? 1 : y.return_rate);
    }).concat([data.targets.satisfaction]));
    return overTime(labels, function (i) {
      var y = years[i];
      return [rateText(String(y.year), y.satisfaction), text.distribution + " " + pct(y.distribution_rate),
              text["return"] + " " + pct(y.return_rate)].join("\n");
    }, percentAxis({min: Math.max(0, Math.floor((lowest - 0.05) * 10) / 10),
                    max: function (v) { return Math.max(1, Math.ceil(v.max * 10) / 10); }}), [
      {type: "line", name: text.satisfaction, data: sat, symbolSize: 8, color: SERIES[0],
       markLine: targetLine(data.targets.satisfaction, text.target)},
      {type: "line", name: text.distribution, color: SERIES[1], lineStyle: {type: "dotted"},
       data: years.map(function (y) { return y.distribution_rate; })},
      {type: "line", name: text["return"], color: SERIES[2], lineStyle: {type: "dotted"},
       data: years.map(function (y) { return y.return_rate; })},
      intervalSeries(years.filter(function (y) { return y.satisfaction.n > 0; }).map(function (y) {
        return [y.satisfaction.low, y.satisfaction.high, labels.indexOf(String(y.year))];
      }), false)
    ]);
  }

  function monthLabels(months) { return months.map(function (m) { return m.month.slice(5); }); }

  function complaints(data) {
    var months = data.complaints.months;
    if (!months.length) { return null; }
    return overTime(monthLabels(months), function (i, params) {
      var m = months[i];
      return [m.month + " · " + text.complaints + " " + num(m.complaints)].concat(params.map(function (p) {
        return p.seriesName + " " + num(p.value);
      })).join("\n");
    }, {type: "value", minInterval: 1, splitLine: {lineStyle: {color: "#e5e9ef"}}},
    data.complaints.categories.map(function (c, i) {
      return {type: "bar", stack: "complaints", name: c.name, color: SERIES[i % SERIES.length],
              data: months.map(function (m) { return m.by_category[c.code] || 0; })};
    }));
  }

  function pareto(data) {
    var rows = data.complaints.pareto;
    if (!rows.length || !data.complaints.totals.complaints) { return null; }
    return {
      height: 320,
      option: {
        grid: {left: 8, right: 8, top: 40, bottom: 24, containLabel: true},
        legend: {top: 0},
        tooltip: tooltip("axis", function (params) {
          var r = rows[params[0].dataIndex];
          return [r.name, text.complaints + " " + num(r.complaints) + " (" + pct(r.share) + ")",
                  text.cumulative + " " + pct(r.cumulative)].join("\n");
        }),
        xAxis: {type: "category", data: rows.map(function (r) { return r.name; }),
                axisLabel: {interval: 0, width: narrow() ? 48 : 90, overflow: "truncate"}},
        yAxis: [{type: "value", minInterval: 1, splitLine: {lineStyle: {color: "#e5e9ef"}}},
                percentAxis({min: 0, max: 1, splitLine: {show: false}})],
        series: [
          {type: "bar", name: text.complaints, barMaxWidth: 40,
           data: rows.map(function (r) {
             return {value: r.complaints, itemStyle: {color: r.vital ? "#b42318" : "#8a94a3"}};
           })},
          {type: "line", name: text.cumulative, yAxisIndex: 1, color: SERIES[0],
           data: rows.map(function (r) { return r.cumulative; }), markLine: targetLine(0.8, "")}
        ]
      }
    };
  }

  function handling(data) {
    var months = data.complaints.months;
    if (!months.length) { return null; }
    var keys = ["on_time_response", "on_time_resolution", "handling_satisfaction"];
    var counts = {on_time_response: ["on_time", "due"], on_time_resolution: ["on_time", "due"],
                  handling_satisfaction: ["satisfied", "follow_ups"]};
    return overTime(monthLabels(months), function (i) {
      var m = months[i];
      return [m.month].concat(keys.map(function (k) {
        var r = m[k];
        return text[k] + " " + pct(r.rate) + " (" + num(r[counts[k][0]]) + " / " + num(r[counts[k][1]]) + ")";
      })).join("\n");
    }, percentAxis({min: 0, max: 1}), keys.map(function (k, i) {
      return {type: "line", name: text[k], color: SERIES[i], symbolSize: 7,
              data: months.map(function (m) { return m[k].rate; })};
    }));
  }

  var BUILDERS = {projects: surveyRows, campaigns: surveyRows, categories: categories, trend: trend,
                  complaints: complaints, pareto: pareto, handling: handling};

  function draw(data) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-chart]"), function (el) {
      var build = BUILDERS[el.getAttribute("data-chart")];
      var spec = build ? build(data) : null;
      if (!spec) {
        el.classList.add("chart-empty");
        el.textContent = text.no_data;
        return;
      }
      el.style.height = spec.height + "px";
      var chart = window.echarts.init(el, null, {renderer: "canvas",
                                                 devicePixelRatio: Math.max(2, window.devicePixelRatio || 1)});
      chart.setOption(Object.assign({animationDuration: 300, textStyle: {fontFamily: FONT}}, spec.option));
      charts.push(chart);
    });
    root.setAttribute("data-rendered", String(charts.length));
  }

  function resizeAll() { charts.forEach(function (c) { c.resize(); }); }

  var pending = null;
  function resizeSoon() {
    if (pending) { window.cancelAnimationFrame(pending); }
    pending = window.requestAnimationFrame(function () { pending = null; resizeAll(); });
  }
  if (window.ResizeObserver) {
    new window.ResizeObserver(resizeSoon).observe(root);
  } else {
    window.addEventListener("resize", resizeSoon);
  }
  // Printing: the charts take the printed page's width, then go back.
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
  if (window.matchMedia) {
    var printing = window.matchMedia("print");
    if (printing.addEventListener) { printing.addEventListener("change", resizeAll); }
  }
  var printButton = document.querySelector("[data-print]");
  if (printButton) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
  }

  fetch(root.getAttribute("data-api"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
    .then(function (r) {
      if (!r.ok) { throw new Error("chart data: HTTP " + r.status); }
      return r.json();
    })
    .then(draw)
    .catch(function (err) {
      root.setAttribute("data-rendered", "error");
      Array.prototype.forEach.call(root.querySelectorAll("[data-chart]"), function (el) {
        el.classList.add("chart-empty");
        el.textContent = text.no_data;
      });
      throw err;
    });
})();
