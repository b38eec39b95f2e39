// The retention page (templates/renewals/retention.html): GRR and NRR of each of the last four
// calendar quarters, as bars, over a line at 100%. The table beside the chart lists the same figures
// with each cohort's accounts and starting ARR, for screen readers and pages without script.
(function () {
  "use strict";

  var charts = window.PulseCharts;

  function hundredPercent(colour) {
    return {
      id: "hundredPercent",
      afterDatasetsDraw: function (chart) {
        var area = chart.chartArea;
        var y = chart.scales.y;
        if (!area || !y) return;
        var at = y.getPixelForValue(100);
        if (at < area.top || at > area.bottom) return;
        var ctx = chart.ctx;
        ctx.save();
        ctx.strokeStyle = colour;
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.moveTo(area.left, at);
        ctx.lineTo(area.right, at);
        ctx.stroke();
        ctx.restore();
      },
    };
  }

  function quartersChart(canvas, data) {
    if (!data.labels.length) return false;
    var values = data.grr.concat(data.nrr).filter(function (value) { return value !== null; });
    if (!values.length) return false;
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "GRR", data: data.grr, backgroundColor: charts.cssVar("--band-none"), borderRadius: 3 },
          { label: "NRR", data: data.nrr, backgroundColor: charts.cssVar("--brand"), borderRadius: 3 },
        ],
      },
      options: charts.options({
        scales: {
          y: {
            beginAtZero: true,
            suggestedMax: 110,
            ticks: { callback: function (value) { return value + "%"; } },
            // Short enough to fit beside a phone's chart (14rem high): a longer title was cut off.
            title: { display: true, text: "% of starting ARR" },
          },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + (item.raw === null ? "—" : item.raw + "%");
              },
              footer: function (items) {
                var index = items[0].dataIndex;
                return data.n[index] + " accounts, " + data.start_arr[index] + " ARR at the start";
              },
            },
          },
        },
      }),
      plugins: [hundredPercent(charts.cssVar("--ink-soft"))],
    });
  }

  charts.register("retention-chart-data", { quarters: quartersChart });
})();
