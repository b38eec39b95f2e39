// The back-test (templates/scoring/backtest.html), on the model editor and the back-test page:
// churn within the horizon per band (bars, one set per version compared) and the calibration
// (churn rate of each tenth of the cases at its mean score). The tables beside them say the same.
(function () {
  "use strict";

  var charts = window.PulseCharts;
  var SIDE_COLOURS = ["--band-none", "--brand"];

  function colour(index) {
    return charts.cssVar(SIDE_COLOURS[index % SIDE_COLOURS.length]);
  }

  function bandsChart(canvas, data) {
    if (!data.sides.length) return false;
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.bands,
        datasets: data.sides.map(function (side, index) {
          var single = data.sides.length === 1;
          return {
            label: side.label,
            data: side.rates,
            backgroundColor: single ? ["red", "yellow", "green"].map(charts.bandColour) : colour(index),
            borderRadius: 3,
          };
        }),
      },
      options: charts.options({
        scales: {
          y: { beginAtZero: true, title: { display: true, text: "% of cases that churned" } },
        },
        plugins: {
          legend: { display: data.sides.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) {
                var side = data.sides[item.datasetIndex];
                var low = side.low[item.dataIndex];
                var high = side.high[item.dataIndex];
                var text = side.label + ": " + item.formattedValue + "%";
                return low === null ? text : text + " (" + low + "–" + high + "%)";
              },
            },
          },
        },
      }),
    });
  }

  function calibrationChart(canvas, data) {
    if (!data.sides.length) return false;
    return new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: data.sides.map(function (side, index) {
          return {
            label: side.label,
            data: side.calibration,
            borderColor: colour(index),
            backgroundColor: colour(index),
            pointRadius: 3,
            tension: 0,
          };
        }),
      },
      options: charts.options({
        parsing: false,
        scales: {
          x: { type: "linear", min: 0, max: 100, title: { display: true, text: "Mean health of the tenth" } },
          y: { beginAtZero: true, title: { display: true, text: "% churned" } },
        },
        plugins: {
          legend: { display: data.sides.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + item.raw.y + "% of " + item.raw.n + " cases at health " + item.raw.x;
              },
            },
          },
        },
      }),
    });
  }

  charts.register("backtest-stored-data", { "stored-bands": bandsChart, "stored-calibration": calibrationChart });
  charts.register("backtest-draft-data", { "draft-bands": bandsChart, "draft-calibration": calibrationChart });
})();
