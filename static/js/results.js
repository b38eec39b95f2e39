// Survey results charts: reads the JSON the page renders with json_script (inside a
// <template>, see results.html) and draws
// the trend (line) and the score distribution (bar) with Chart.js. The tables beside
// the charts carry the same numbers for screen readers and for pages without script.
// Redrawn after every HTMX swap of the results, and after a history restore.
(function () {
  "use strict";

  var DATA_ID = "results-chart-data";
  var charts = window.PulseCharts;

  function categoryColour(category) {
    if (category === "promoter" || category === "positive") return charts.bandColour("green");
    if (category === "detractor" || category === "negative") return charts.bandColour("red");
    return charts.bandColour("yellow");
  }

  // The shown text comes from the server, rounded by the same rule as the tables (half away from zero).
  function pointText(data, index) {
    var text = data.trend.texts[index];
    var margin = data.trend.margins[index];
    return text === "—" ? "no answers" : text + (margin ? " " + margin : "");
  }

  // The 95% interval of each point as an error bar (none under five answers: "too few answers").
  function errorBars(trend, colour) {
    return {
      id: "resultsErrorBars",
      afterDatasetsDraw: function (chart) {
        var meta = chart.getDatasetMeta(0);
        var y = chart.scales.y;
        var ctx = chart.ctx;
        ctx.save();
        ctx.strokeStyle = colour;
        ctx.lineWidth = 1.5;
        meta.data.forEach(function (point, index) {
          var low = trend.low[index];
          var high = trend.high[index];
          if (low === null || high === null) return;
          var top = y.getPixelForValue(high);
          var bottom = y.getPixelForValue(low);
          ctx.beginPath();
          ctx.moveTo(point.x, top);
          ctx.lineTo(point.x, bottom);
          ctx.moveTo(point.x - 4, top);
          ctx.lineTo(point.x + 4, top);
          ctx.moveTo(point.x - 4, bottom);
          ctx.lineTo(point.x + 4, bottom);
          ctx.stroke();
        });
        ctx.restore();
      },
    };
  }

  function trendChart(canvas, data) {
    var brand = charts.cssVar("--brand");
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
        }],
      },
      options: charts.options({
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
            callbacks: {
              label: function (ctx) {
                var n = data.trend.n[ctx.dataIndex];
                return data.label + " " + pointText(data, ctx.dataIndex) + " (n = " + n + ")";
              },
            },
          },
        },
      }),
      plugins: [errorBars(data.trend, brand)],
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
      options: charts.options({
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 } },
          x: { title: { display: true, text: "Score" } },
        },
        plugins: { legend: { display: false } },
      }),
    });
  }

  var DRAW = { trend: trendChart, distribution: distributionChart };

  charts.register(DATA_ID, DRAW);

})();
