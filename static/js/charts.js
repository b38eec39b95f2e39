// Shared by the pages with Chart.js charts: finds each <canvas data-chart="name">, reads the
// page's JSON (kept inside a <template data-chart-source>, because htmx strips <script> from
// swapped content) and draws it with the page's function of that name. Redraws after every
// htmx swap and history restore; draws once on load when htmx is missing. A chart whose
// canvas htmx swaps out is destroyed with it (Chart.js would otherwise keep it, and its
// resize observer, for the life of the page).
(function () {
  "use strict";

  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var chart = window.Chart && event.target.matches("canvas[data-chart]") && window.Chart.getChart(event.target);
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

  function register(dataId, drawers) {
    function draw(root) {
      if (!window.Chart) return;
      var holder = document.querySelector("template[data-chart-source]");
      var source = holder && holder.content.getElementById(dataId);
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

  window.PulseCharts = { register: register };
})();
