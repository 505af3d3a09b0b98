/* Sapa dashboard: draws the ECharts options embedded in data-chart attributes, sends the
   session's CSRF token with every HTMX request, and opens a region's page from the map. */
(function () {
  "use strict";

  // Interval bars for the "custom" series whose renderItem is the name "sapaInterval":
  // each datum is [low, row, high].
  function intervalBar(params, api) {
    var low = api.coord([api.value(0), api.value(1)]);
    var high = api.coord([api.value(2), api.value(1)]);
    return {
      type: "line",
      shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] },
      style: { stroke: "#5470c6", lineWidth: 2 }
    };
  }

  function draw(root) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("div.chart[data-chart]").forEach(function (element) {
      if (element.dataset.drawn) { return; }
      var options = JSON.parse(element.dataset.chart);
      element.style.height = (element.dataset.height || 360) + "px";
      (options.series || []).forEach(function (series) {
        if (series.renderItem === "sapaInterval") { series.renderItem = intervalBar; }
      });
      var links = options.sapaLinks;
      delete options.sapaLinks;
      var chart = echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(options);
      if (links) {
        chart.on("click", function (event) {
          var code = event.data && event.data.code;
          if (code && links[code]) { window.location.href = links[code]; }
        });
      }
      element.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });
})();
