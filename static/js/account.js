// Account page charts: reads the JSON the page renders with json_script (inside a
// <template>, see dashboards/account.html) and draws the 12-month health trend (a line on
// red / yellow / green background bands) and one sparkline per metric with Chart.js. The
// tables and numbers beside the charts carry the same information for screen readers and
// for pages without script. Also shows the "Print brief" button, which needs script.
(function () {
  "use strict";

  var DATA_ID = "account-chart-data";

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // "#d64545" -> "rgba(214, 69, 69, 0.14)": the band colours, faint enough to read the line over them.
  function faint(hex, alpha) {
    var match = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    if (!match) return hex;
    return "rgba(" + parseInt(match[1], 16) + ", " + parseInt(match[2], 16) + ", " + parseInt(match[3], 16) + ", " + alpha + ")";
  }

  function bandColours() {
    return {
      red: cssVar("--band-red", "#d64545"),
      yellow: cssVar("--band-yellow", "#e5a00d"),
      green: cssVar("--band-green", "#2f9e5c"),
      none: cssVar("--band-none", "#9aa5b1"),
    };
  }

  // A chart-local plugin (not registered globally): fills the chart area behind the line with
  // the three bands of the account's health model, so "which band was it in" reads at a glance.
  function bandBackground(trend, colours) {
    return {
      id: "bandBackground",
      beforeDatasetsDraw: function (chart) {
        if (trend.red_below === null || trend.green_from === null) return;
        var area = chart.chartArea;
        var y = chart.scales.y;
        var ctx = chart.ctx;
        [
          [0, trend.red_below, colours.red],
          [trend.red_below, trend.green_from, colours.yellow],
          [trend.green_from, 100, colours.green],
        ].forEach(function (band) {
          var top = y.getPixelForValue(band[1]);
          var bottom = y.getPixelForValue(band[0]);
          ctx.save();
          ctx.fillStyle = faint(band[2], 0.14);
          ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
          ctx.restore();
        });
      },
    };
  }

  // "Mar 22" for a day counted from the trend's first day (ISO date, read as UTC so no time zone shifts it).
  function dayLabel(start, days) {
    var date = new Date(Date.parse(start + "T00:00:00Z") + days * 86400000);
    return date.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  }

  function trendChart(canvas, data) {
    var trend = data.trend;
    var colours = bandColours();
    var ink = cssVar("--ink", "#1f2933");
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
          pointBackgroundColor: trend.bands.map(function (band) { return colours[band] || colours.none; }),
          tension: 0, // straight segments: a curve would show scores that were never computed
          spanGaps: false, // "not enough data" days stay a gap, not an invented line
          clip: 6,
        }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
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
      },
      plugins: [bandBackground(trend, colours)],
    });
  }

  // The line is the 7-day mean ending on each day (its last point is the headline beside it); the daily
  // values, which swing with the week, are drawn faint behind it.
  function sparkline(canvas, data) {
    var series = data.metrics[canvas.dataset.metric];
    if (!series) return null;
    var brand = cssVar("--brand", "#3454d1");
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
          borderColor: faint(brand, 0.25),
          borderWidth: 1,
          pointRadius: 0,
          pointHoverRadius: 2,
          tension: 0,
          fill: false,
        }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
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
      },
    });
  }

  var DRAW = { trend: trendChart, sparkline: sparkline };

  window.PulseCharts.register(DATA_ID, DRAW);

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
