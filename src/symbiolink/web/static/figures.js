// Plotly figures made on the server: each element with data-figure names the JSON block that holds
// its figure (data and layout).
(function () {
  "use strict";
  document.querySelectorAll("[data-figure]").forEach(function (el) {
    var fig = JSON.parse(document.getElementById(el.dataset.figure).textContent);
    fig.layout.autosize = true;
    delete fig.layout.width;
    Plotly.newPlot(el, fig.data, fig.layout, { responsive: true, displaylogo: false });
  });
})();
