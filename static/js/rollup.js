// Team rollup charts (dashboards/rollup.html): reads the JSON the page renders with json_script
// (inside a <template>, which htmx keeps when it swaps the rollup in) and draws the accounts per
// band of each CSM (stacked bars; a click on a bar opens that CSM's portfolio filtered to the band)
// and the mean health at the end of each week over the band thresholds of the default model. The
// tables on the page carry the same numbers for screen readers and for pages without script.
// Redrawn after every HTMX swap, and after a history restore.
(function () {
  "use strict";

  var DATA_ID = "rollup-chart-data";

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function bandColour(band) {
    var fallback = { red: "#d64545", yellow: "#e5a00d", green: "#2f9e5c", none: "#9aa5b1" }[band];
    return cssVar("--band-" + band, fallback);
  }

  // Hex colour with an alpha, for the faint band backgrounds behind the trend.
  function faint(hex, alpha) {
    var match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    if (!match) return hex;
    return "rgba(" + parseInt(match[1], 16) + ", " + parseInt(match[2], 16) + ", " + parseInt(match[3], 16) + ", " + alpha + ")";
  }

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
            backgroundColor: bandColour(series.band),
            urls: series.urls,
            borderWidth: 0,
            maxBarThickness: 22,
          };
        }),
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
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
      },
    });
  }

  // Paints the red / yellow / green zones of the score axis behind the line.
  var bandZones = {
    id: "rollupBandZones",
    beforeDatasetsDraw: function (chart, args, options) {
      var area = chart.chartArea;
      var y = chart.scales.y;
      if (!area || !y) return;
      var ctx = chart.ctx;
      var zones = [
        [0, options.redBelow, "red"],
        [options.redBelow, options.greenFrom, "yellow"],
        [options.greenFrom, 100, "green"],
      ];
      ctx.save();
      zones.forEach(function (zone) {
        var top = y.getPixelForValue(zone[1]);
        var bottom = y.getPixelForValue(zone[0]);
        ctx.fillStyle = faint(bandColour(zone[2]), 0.12);
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
      });
      ctx.restore();
    },
  };

  function trendChart(canvas, data) {
    var trend = data.trend;
    var brand = cssVar("--brand", "#3454d1");
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
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          y: { min: 0, max: 100, ticks: { stepSize: 20 } },
          x: { ticks: { autoSkip: true, maxRotation: 0 } },
        },
        plugins: {
          legend: { display: false },
          rollupBandZones: { redBelow: trend.red_below, greenFrom: trend.green_from },
          tooltip: {
            callbacks: {
              title: function (items) { return "Week of " + items[0].label; },
              label: function (ctx) {
                return "Mean health " + ctx.parsed.y.toFixed(1) + " (" + trend.n[ctx.dataIndex] + " accounts)";
              },
            },
          },
        },
      },
      plugins: [bandZones],
    });
  }

  var DRAW = { bands: bandsChart, trend: trendChart };

  window.PulseCharts.register(DATA_ID, DRAW);

})();
