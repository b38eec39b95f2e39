// Team rollup charts (dashboards/rollup.html): reads the JSON the page renders with json_script
// (inside a <template>, which htmx keeps when it swaps the rollup in) and draws the accounts per
// band of each CSM (stacked bars; a click on a bar opens that CSM's portfolio filtered to the band)
// and the mean health at the end of each week over the band thresholds of the default model. The
// tables on the page carry the same numbers for screen readers and for pages without script.
// Redrawn after every HTMX swap, and after a history restore.
(function () {
  "use strict";

  var DATA_ID = "rollup-chart-data";
  var charts = window.PulseCharts;

  function bandsChart(canvas, data) {
    var bands = data.bands;
    // One bar per CSM: the box grows with them (pulse.css reads --bars). Set here through the
    // CSSOM because the Content-Security-Policy refuses a style="" attribute in the HTML.
    canvas.closest(".chart").style.setProperty("--bars", bands.labels.length);
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: bands.labels,
        datasets: bands.series.map(function (series) {
          return {
            label: series.label,
            data: series.counts,
            backgroundColor: charts.bandColour(series.band),
            urls: series.urls,
            borderWidth: 0,
            maxBarThickness: 22,
          };
        }),
      },
      options: charts.options({
        indexAxis: "y",
        scales: {
          x: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Accounts" } },
          y: { stacked: true, ticks: { autoSkip: false } },
        },
        plugins: { legend: { position: "bottom" } },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
        onClick: function (event, elements, chart) {
          if (!elements.length) return;
          var element = elements[0];
          var url = chart.data.datasets[element.datasetIndex].urls[element.index];
          if (url) window.location.assign(url);
        },
      }),
    });
  }

  function trendChart(canvas, data) {
    var trend = data.trend;
    var brand = charts.cssVar("--brand");
    return new window.Chart(canvas, {
      type: "line",
      data: {
        labels: trend.labels,
        datasets: [{
          label: "Mean health",
          data: trend.values,
          borderColor: brand,
          backgroundColor: brand,
          pointRadius: 2,
          tension: 0, // straight segments: a curve would show values no week had
          spanGaps: false,
        }],
      },
      options: charts.options({
        scales: {
          y: { min: 0, max: 100, ticks: { stepSize: 20 } },
          x: { ticks: { autoSkip: true, maxRotation: 0 } },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: function (items) { return "Week of " + items[0].label; },
              label: function (ctx) {
                return "Mean health " + ctx.parsed.y.toFixed(1) + " (" + trend.n[ctx.dataIndex] + " accounts)";
              },
            },
          },
        },
      }),
      plugins: [charts.bandBackground(trend.red_below, trend.green_from)],
    });
  }

  var DRAW = { bands: bandsChart, trend: trendChart };

  charts.register(DATA_ID, DRAW);

})();
