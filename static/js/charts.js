// Shared by the pages with Chart.js charts (window.PulseCharts; load it after Chart.js and before
// the page's script):
// - register(dataId, drawers) finds each <canvas data-chart="name">, reads the page's JSON (kept
//   inside a <template data-chart-source>, of which a page may have several, because htmx strips
//   <script> from swapped content) and draws it with the page's function of that name. Redraws after every htmx swap and history
//   restore; draws once on load when htmx is missing. A chart whose canvas htmx swaps out is
//   destroyed with it (Chart.js would otherwise keep it, and its resize observer, for the life of the page).
// - cssVar, bandColour and faint read the colours pulse.css defines once (custom properties).
// - options(extra) gives every chart the same base options; bandBackground(redBelow, greenFrom) is the
//   plugin that paints a health model's red / yellow / green bands behind a 0-100 score line.
(function () {
  "use strict";

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // "red", "yellow", "green" or "none": the colour pulse.css gives the band (--band-red, ...).
  function bandColour(band) {
    return cssVar("--band-" + band);
  }

  // "#d64545" -> "rgba(214, 69, 69, 0.14)": a colour faint enough to read a line over it.
  function faint(hex, alpha) {
    var match = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    if (!match) return hex;
    return "rgba(" + parseInt(match[1], 16) + ", " + parseInt(match[2], 16) + ", " + parseInt(match[3], 16) + ", " + alpha + ")";
  }

  // Sized by their box in pulse.css, drawn at once (no animation: a redraw after a swap must not replay).
  function options(extra) {
    return Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, extra);
  }

  // A chart-local plugin (pass it in the chart's `plugins`, it is not registered globally): fills the
  // chart area behind the line with the model's three bands, so "which band was it in" reads at a
  // glance. Draws nothing when the thresholds are unknown (null).
  function bandBackground(redBelow, greenFrom) {
    return {
      id: "bandBackground",
      beforeDatasetsDraw: function (chart) {
        var area = chart.chartArea;
        var y = chart.scales.y;
        if (redBelow === null || greenFrom === null || !area || !y) return;
        var ctx = chart.ctx;
        ctx.save();
        [[0, redBelow, "red"], [redBelow, greenFrom, "yellow"], [greenFrom, 100, "green"]].forEach(function (band) {
          var top = y.getPixelForValue(band[1]);
          var bottom = y.getPixelForValue(band[0]);
          ctx.fillStyle = faint(bandColour(band[2]), 0.14);
          ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
        });
        ctx.restore();
      },
    };
  }

  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    // htmx cleans up text nodes too (an innerHTML swap), which have no matches().
    var target = event.target;
    var chart = window.Chart && target.matches && target.matches("canvas[data-chart]") && window.Chart.getChart(target);
    if (chart) chart.destroy();
  });

  function canvasesIn(root) {
    var canvases = [];
    if (root.matches && root.matches("canvas[data-chart]")) canvases.push(root);
    if (root.querySelectorAll) {
      canvases = canvases.concat(Array.prototype.slice.call(root.querySelectorAll("canvas[data-chart]")));
    }
    return canvases;
  }

  // The JSON element with this id, in whichever <template data-chart-source> holds it (a page can have several).
  function sourceOf(dataId) {
    var holders = document.querySelectorAll("template[data-chart-source]");
    for (var index = 0; index < holders.length; index++) {
      var found = holders[index].content.getElementById(dataId);
      if (found) return found;
    }
    return null;
  }

  function register(dataId, drawers) {
    function draw(root) {
      if (!window.Chart) return;
      var source = sourceOf(dataId);
      var canvases = canvasesIn(root);
      if (!source || !canvases.length) return;
      var data = JSON.parse(source.textContent);
      canvases.forEach(function (canvas) {
        var make = drawers[canvas.dataset.chart];
        if (!make) return;
        var existing = window.Chart.getChart(canvas);
        if (existing) existing.destroy();
        var box = canvas.closest(".chart");
        box.classList.add("is-drawn"); // shown before drawing, so Chart.js measures a visible box
        if (!make(canvas, data)) box.classList.remove("is-drawn");
      });
    }

    // htmx:load fires for the first page (once htmx starts) and for every swapped-in fragment.
    document.addEventListener("htmx:load", function (event) { draw(event.target); });
    // A page restored from htmx's history cache has blank canvases: draw them again.
    document.addEventListener("htmx:historyRestore", function () { draw(document); });
    document.addEventListener("DOMContentLoaded", function () {
      if (!window.htmx) draw(document);
    });
  }

  window.PulseCharts = {
    register: register,
    cssVar: cssVar,
    bandColour: bandColour,
    faint: faint,
    options: options,
    bandBackground: bandBackground,
  };
})();
