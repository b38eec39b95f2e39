// Survey results charts: reads the JSON the page renders with json_script (inside a
// <template>, see results.html) and draws
// the trend (line) and the score distribution (bar) with Chart.js. The tables beside
// the charts carry the same numbers for screen readers and for pages without script.
// Redrawn after every HTMX swap of the results, and after a history restore.
(function () {
  "use strict";

  var DATA_ID = "results-chart-data";

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function categoryColour(category) {
    if (category === "promoter" || category === "positive") return cssVar("--band-green", "#2f9e5c");
    if (category === "detractor" || category === "negative") return cssVar("--band-red", "#d64545");
    return cssVar("--band-yellow", "#e5a00d");
  }

  // The shown text comes from the server, rounded by the same rule as the tables (half away from zero).
  function pointText(data, index) {
    var text = data.trend.texts[index];
    var margin = data.trend.margins[index];
    return text === "—" ? "no answers" : text + (margin ? " " + margin : "");
  }

  // The 95% interval as a shaded band between its low and high edges (none under five answers).
  function intervalEdge(values, fill) {
    return {
      label: "95% interval",
      data: values,
      borderWidth: 0,
      pointRadius: 0,
      pointHitRadius: 0,
      backgroundColor: cssVar("--brand-faint", "rgba(52, 84, 209, 0.12)"),
      fill: fill,
      tension: 0,
      spanGaps: false,
    };
  }

  function trendChart(canvas, data) {
    var brand = cssVar("--brand", "#3454d1");
    return new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.trend.labels,
        datasets: [{
          label: data.label,
          data: data.trend.values,
          borderColor: brand,
          backgroundColor: brand,
          pointRadius: 3,
          tension: 0, // straight segments: a curve would show values nobody gave
          spanGaps: false,
          clip: 8, // points at the top and bottom of the scale (±100) stay whole
        }, intervalEdge(data.trend.low, false), intervalEdge(data.trend.high, "-1")],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        layout: { padding: { top: 8, bottom: 4 } },
        scales: {
          y: {
            min: data.range[0],
            max: data.range[1],
            ticks: { callback: function (v) { return data.percent ? v + "%" : v; } },
          },
          x: { ticks: { autoSkip: true, maxRotation: 0 } },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: function (item) { return item.datasetIndex === 0; },
            callbacks: {
              label: function (ctx) {
                var n = data.trend.n[ctx.dataIndex];
                return data.label + " " + pointText(data, ctx.dataIndex) + " (n = " + n + ")";
              },
            },
          },
        },
      },
    });
  }

  function distributionChart(canvas, data) {
    var dist = data.distribution;
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: dist.labels,
        datasets: [{
          label: "Answers",
          data: dist.counts,
          backgroundColor: dist.categories.map(categoryColour),
          borderRadius: 3,
        }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 } },
          x: { title: { display: true, text: "Score" } },
        },
        plugins: { legend: { display: false } },
      },
    });
  }

  var DRAW = { trend: trendChart, distribution: distributionChart };

  window.PulseCharts.register(DATA_ID, DRAW);

})();
