// The park's map: companies as circle markers and links as lines, from the JSON block named by the
// map element's data-map attribute. Tiles come from OpenStreetMap when the browser is online; when
// they cannot load, the plain background still shows every position and link.
(function () {
  "use strict";
  var COLOURS = { material: "#8c6d31", water: "#1f77b4", energy: "#d62728" };
  function draw(el) {
    var data = JSON.parse(document.getElementById(el.dataset.map).textContent);
    var map = L.map(el, { scrollWheelZoom: false });
    L.tileLayer(data.tiles, { maxZoom: 19, attribution: data.attribution }).addTo(map);
    var points = [];
    data.links.forEach(function (link) {
      L.polyline([link.from, link.to], {
        color: COLOURS[link.kind] || "#555", weight: link.operating ? 4 : 2,
        dashArray: link.operating ? null : "6 6", className: "sl-link sl-" + link.kind,
      }).bindTooltip(link.label).addTo(map);
    });
    data.companies.forEach(function (c) {
      var marker = L.circleMarker([c.lat, c.lon], {
        radius: 7, color: "#ffffff", weight: 2, fillColor: "#1d6f66", fillOpacity: 0.95,
        className: "sl-company",
      });
      marker.bindTooltip(c.name + (c.sector ? " (ISIC " + c.sector + ")" : "")).addTo(map);
      points.push([c.lat, c.lon]);
    });
    if (points.length > 1) {
      map.fitBounds(points, { padding: [30, 30], maxZoom: 16 });
    } else if (points.length === 1) {
      map.setView(points[0], 15);
    } else if (data.centre) {
      map.setView(data.centre, 13);
    } else {
      map.setView([0, 0], 1);
    }
  }
  document.querySelectorAll("[data-map]").forEach(draw);
})();
