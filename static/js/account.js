// Account page charts: reads the JSON the page renders with json_script (inside a
// <template>, see dashboards/account.html) and draws the 12-month health trend (a line on
// red / yellow / green background bands) and one sparkline per metric with Chart.js. The
// tables and numbers beside the charts carry the same information for screen readers and
// for pages without script. Also shows the "Print brief" button, which needs script.
(function () {
  "use strict";

  var DATA_ID = "account-chart-data";
  var charts = window.PulseCharts;

  // "Mar 22" for a day counted from the trend's first day (ISO date, read as UTC so no time zone shifts it).
  function dayLabel(start, days) {
    var date = new Date(Date.parse(start + "T00:00:00Z") + days * 86400000);
    return date.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  }

  function trendChart(canvas, data) {
    var trend = data.trend;
    var ink = charts.cssVar("--ink");
    var narrow = canvas.clientWidth < 480;
    return new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: [{
          label: "Health",
          data: trend.days.map(function (day, i) { return { x: day, y: trend.scores[i] }; }),
          borderColor: ink,
          borderWidth: 2,
          pointRadius: trend.scores.length > 60 ? 0 : 2,
          pointHoverRadius: 4,
          pointBackgroundColor: trend.bands.map(function (band) { return charts.bandColour(band || "none"); }),
          tension: 0, // straight segments: a curve would show scores that were never computed
          spanGaps: false, // "not enough data" days stay a gap, not an invented line
          clip: 6,
        }],
      },
      options: charts.options({
        parsing: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          y: { min: 0, max: 100, ticks: { stepSize: 20 } },
          // Days since the first point, so weekly and daily history keep their real spacing.
          x: {
            type: "linear",
            min: 0,
            max: Math.max(trend.span, 1),
            ticks: {
              stepSize: narrow ? 91 : 61,
              maxRotation: 0,
              callback: function (value) { return dayLabel(trend.start, value); },
            },
          },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? trend.labels[items[0].dataIndex] : ""; },
              label: function (ctx) {
                if (ctx.parsed.y === null) return "Not enough data";
                return "Health " + ctx.parsed.y + " (" + trend.bands[ctx.dataIndex] + ")";
              },
            },
          },
        },
      }),
      plugins: [charts.bandBackground(trend.red_below, trend.green_from)],
    });
  }

  // The line is the 7-day mean ending on each day (its last point is the headline beside it); the daily
  // values, which swing with the week, are drawn faint behind it.
  function sparkline(canvas, data) {
    var series = data.metrics[canvas.dataset.metric];
    if (!series) return null;
    var brand = charts.cssVar("--brand");
    var unit = series.unit ? " " + series.unit : "";
    return new window.Chart(canvas, {
      type: "line",
      data: {
        labels: series.labels,
        datasets: [{
          label: series.label + ": 7-day mean",
          kind: "7-day mean",
          data: series.means,
          borderColor: brand,
          borderWidth: 1.5,
          pointRadius: 0,
          pointHoverRadius: 3,
          tension: 0,
          fill: false,
        }, {
          label: series.label + ": daily",
          kind: "Daily",
          data: series.values,
          borderColor: charts.faint(brand, 0.25),
          borderWidth: 1,
          pointRadius: 0,
          pointHoverRadius: 2,
          tension: 0,
          fill: false,
        }],
      },
      options: charts.options({
        interaction: { mode: "index", intersect: false },
        layout: { padding: 2 },
        scales: { x: { display: false }, y: { display: false, grace: "10%" } },
        plugins: {
          legend: { display: false },
          tooltip: {
            displayColors: false,
            callbacks: {
              label: function (ctx) {
                // The server rounds the values as the table shows them.
                return ctx.dataset.kind + " " + ctx.parsed.y.toLocaleString("en-US") + unit;
              },
            },
          },
        },
      }),
    });
  }

  var DRAW = { trend: trendChart, sparkline: sparkline };

  charts.register(DATA_ID, DRAW);

  function printButtons(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.onclick = function () { window.print(); };
    });
  }

  // Charts sized for the screen would overflow a printed page: let Chart.js resize them for print.
  window.addEventListener("beforeprint", function () {
    if (!window.Chart) return;
    Object.values(window.Chart.instances).forEach(function (chart) { chart.resize(); });
  });

  document.addEventListener("htmx:load", function (event) { printButtons(event.target); });
  document.addEventListener("htmx:historyRestore", function () { printButtons(document); });
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.htmx) printButtons(document);
  });
})();
