// citydesk desk: the map. The base map is the packaged world-atlas outline (Natural Earth 1:50m) drawn by Leaflet
// as GeoJSON: no tile server, no network. Points are Korean governments and partners; lines are ties.
"use strict";

(function () {
  var el = document.getElementById("map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || typeof L === "undefined" || typeof topojson === "undefined") return;
  var data = JSON.parse(dataEl.textContent);
  var KOREA_LON = 127.5;

  // A partner across the antimeridian is drawn on the copy of the world nearest to Korea (Los Angeles east of
  // Seoul across the Pacific, not west across Eurasia).
  function nearLon(lon) {
    while (lon - KOREA_LON > 180) lon -= 360;
    while (KOREA_LON - lon > 180) lon += 360;
    return lon;
  }

  // Natural Earth rings that cross the antimeridian jump from 180 to -180; Leaflet would draw that jump as a band
  // across the world. Each ring is made continuous (a step of more than 180 degrees goes the short way round); the
  // three copies of the world then tile seamlessly.
  function unwrap(geometry) {
    if (!geometry) return;
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates]
      : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    polygons.forEach(function (rings) {
      rings.forEach(function (ring) {
        for (var i = 1; i < ring.length; i++) {
          var prev = ring[i - 1][0];
          while (ring[i][0] - prev > 180) ring[i][0] -= 360;
          while (prev - ring[i][0] > 180) ring[i][0] += 360;
        }
      });
    });
  }

  var map = L.map(el, { preferCanvas: true, worldCopyJump: false, minZoom: 1, maxZoom: 9, zoomSnap: 0.5,
                        attributionControl: false }).setView([34, 128], 3);
  var renderer = L.canvas({ padding: 0.5 });

  fetch("/static/vendor/countries-50m.json").then(function (r) { return r.json(); }).then(function (world) {
    var land = topojson.feature(world, world.objects.countries);
    land.features.forEach(function (f) { unwrap(f.geometry); });
    [-360, 0, 360].forEach(function (shift) {
      L.geoJSON(land, {
        renderer: renderer, interactive: false,
        coordsToLatLng: function (c) { return L.latLng(c[1], c[0] + shift); },
        style: { color: "#a8a29e", weight: 0.6, fillColor: "#f5f3ee", fillOpacity: 1 }
      }).addTo(map).bringToBack();
    });
    el.dataset.basemap = "ready";
  }).catch(function (e) { el.dataset.basemap = "failed: " + e; });

  var where = {};
  data.points.forEach(function (p) { where[p.name] = [p.lat, p.role === "korean" ? p.lon : nearLon(p.lon)]; });
  var maxLine = Math.max.apply(null, [1].concat(data.lines.map(function (l) { return l.count; })));
  data.lines.forEach(function (l) {
    var a = where[l.korean_party], b = where[l.partner];
    if (!a || !b) return;
    L.polyline([a, b], { renderer: renderer, color: "#c2410c", opacity: 0.45,
                         weight: 1 + 4 * l.count / maxLine, interactive: false }).addTo(map);
  });

  var maxCount = Math.max.apply(null, [1].concat(data.points.map(function (p) { return p.count; })));
  var base = data.search_base || "";
  data.points.slice().reverse().forEach(function (p) {
    var korean = p.role === "korean";
    var marker = L.circleMarker(where[p.name], {
      renderer: renderer, radius: 4 + 14 * Math.sqrt(p.count / maxCount),
      color: korean ? "#1d4ed8" : "#b45309", weight: 1.5,
      fillColor: korean ? "#3b82f6" : "#f59e0b", fillOpacity: 0.75
    }).addTo(map);
    marker.bindTooltip(p.name + (p.name_en ? " · " + p.name_en : "") + " · " + p.country + " — " + p.count + "건");
    marker.on("click", function () {
      var param = korean ? "korean_party" : "partner";
      window.location.href = "/" + base + (base ? "&" : "?") + param + "=" + encodeURIComponent(p.name);
    });
  });
  var all = Object.keys(where).map(function (k) { return where[k]; });
  if (all.length) map.fitBounds(L.latLngBounds(all).pad(0.15), { maxZoom: 6 });
  // For tests and screen readers: the points as the map drew them.
  el.dataset.points = String(data.points.length);
  window.citydeskMap = { map: map, where: where };
})();
