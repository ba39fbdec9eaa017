/* Vigie: legend and layers loaded on demand for the visible bbox.
 *
 * Vigie.dynamicLayer(map, group, options) fills `group` (a Leaflet FeatureGroup that the layer
 * control toggles) on every moveend while the group is on the map:
 *  - zoom >= options.minZoom: GET options.url?bbox=...&limit=options.limit (+ the page's filter
 *    query); if the answer holds every matching feature (numberMatched <= limit) the points are
 *    drawn as circle markers;
 *  - otherwise, when options.aggregate, GET options.url + "/grid?bbox=..." and draw the counts
 *    per cell; else a hint asks to zoom in.
 * Texts from the data are escaped (textContent) before they reach a popup. An incident without
 * an address of its own shows the register address nearest it (near_address, "près du 12 Rue
 * de la Loge") or else its nearest street (near_street).
 * The number of incidents in view is written to #kf-in-view when the kind is "incidents".
 */
(function () {
  "use strict";

  function esc(text) {
    var d = document.createElement("div");
    d.textContent = text === null || text === undefined ? "" : String(text);
    return d.innerHTML;
  }

  function bboxOf(map) {
    var b = map.getBounds();
    var c = function (v, lo, hi) { return Math.max(lo, Math.min(hi, v)); };
    return [c(b.getWest(), -180, 180), c(b.getSouth(), -90, 90),
            c(b.getEast(), -180, 180), c(b.getNorth(), -90, 90)]
      .map(function (v) { return v.toFixed(5); }).join(",");
  }

  function popupOf(kind, p, labels) {
    var rows = [];
    if (kind === "incidents") {
      var cats = labels.categories || {};
      rows.push("<b>" + esc(cats[p.category] || p.category) + "</b>");
      if (p.occurred_from) rows.push(esc(String(p.occurred_from).replace("T", " ").slice(0, 16)));
      if (p.address) rows.push(esc(p.address));
      else if (p.near_address) rows.push(esc((labels.near_address || "near") + " " + p.near_address));
      else if (p.near_street) rows.push(esc((labels.near_street || "near") + " " + p.near_street));
      if (p.description) rows.push(esc(p.description));
      if (p.simulated) rows.push("<i>" + esc(labels.simulated || "simulated") + "</i>");
    } else {
      Object.keys(p).forEach(function (k) {
        if (k === "fid" || k === "batch_id" || p[k] === null || p[k] === "") return;
        rows.push(esc(k) + " : " + esc(p[k]));
      });
    }
    return rows.join("<br>");
  }

  var RAMP = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];

  function drawGrid(group, fc, labels) {
    var max = 1;
    fc.features.forEach(function (f) { max = Math.max(max, f.properties.n); });
    L.geoJSON(fc, {
      style: function (f) {
        var i = Math.min(RAMP.length - 1, Math.floor(RAMP.length * Math.sqrt(f.properties.n / max)));
        return {weight: 0, fillColor: RAMP[i], fillOpacity: 0.55};
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(esc(f.properties.n) + " " + esc(labels.count || ""));
      }
    }).addTo(group);
  }

  function setInView(kind, n) {
    if (kind !== "incidents") return;
    var el = document.getElementById("kf-in-view");
    if (el) el.textContent = (n === null ? "…" : Number(n).toLocaleString(document.documentElement.lang || "fr"));
  }

  var Vigie = window.Vigie || {};

  Vigie.dynamicLayer = function (map, group, options) {
    var seq = 0;
    var labels = options.labels || {};
    var style = options.style || {};
    var hint = L.control({position: "bottomleft"});
    hint.onAdd = function () {
      var div = L.DomUtil.create("div", "vigie-hint leaflet-bar");
      div.style.display = "none";
      return div;
    };
    hint.addTo(map);
    var hintDiv = hint.getContainer();

    function url(path, extra) {
      var q = options.query ? options.query + "&" : "";
      return path + "?" + q + extra;
    }

    function refresh() {
      var mine = ++seq;
      if (!map.hasLayer(group)) { hintDiv.style.display = "none"; return; }
      var bbox = bboxOf(map);
      var zoom = map.getZoom();
      var wantPoints = zoom >= options.minZoom;
      var first = wantPoints
        ? fetch(url(options.url, "bbox=" + bbox + "&limit=" + options.limit), {headers: {Accept: "application/json"}})
        : fetch(url(options.url, "bbox=" + bbox + "&limit=0"), {headers: {Accept: "application/json"}});
      first.then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (fc) {
          if (mine !== seq) return null;
          setInView(options.kind, fc.numberMatched);
          if (wantPoints && fc.numberMatched <= options.limit) {
            group.clearLayers();
            hintDiv.style.display = "none";
            L.geoJSON(fc, {
              pointToLayer: function (f, latlng) {
                return L.circleMarker(latlng, {radius: style.radius || 4, color: style.color || "#333",
                                               weight: 1, fillOpacity: 0.8});
              },
              onEachFeature: function (f, layer) { layer.bindPopup(popupOf(options.kind, f.properties, labels)); }
            }).addTo(group);
            group.fire("vigie:drawn", {count: fc.features.length, mode: "points"});
            return null;
          }
          if (!options.aggregate) {
            group.clearLayers();
            hintDiv.textContent = labels.zoom_in || "Zoom in";
            hintDiv.style.display = "block";
            group.fire("vigie:drawn", {count: 0, mode: "hint"});
            return null;
          }
          return fetch(url(options.url + "/grid", "bbox=" + bbox), {headers: {Accept: "application/json"}})
            .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
            .then(function (grid) {
              if (mine !== seq) return;
              group.clearLayers();
              hintDiv.style.display = "none";
              drawGrid(group, grid, {count: options.name});
              group.fire("vigie:drawn", {count: grid.features.length, mode: "grid"});
            });
        })
        .catch(function (err) {
          if (mine === seq) { hintDiv.textContent = "⚠ " + err; hintDiv.style.display = "block"; }
        });
    }

    map.on("moveend", refresh);
    map.on("overlayadd overlayremove", refresh);
    group.on("add", refresh);
    if (map._loaded) { setTimeout(refresh, 0); } else { map.whenReady(refresh); }
    Vigie.layers = Vigie.layers || {};
    Vigie.layers[options.kind] = group;
  };

  /* Vigie.lazyLayer(map, group, options): the first time `group` is switched on, GET
   * options.url?options.query (a FeatureCollection whose features carry _style and an escaped
   * _popup, plus the layer's default `style` and `point`) and draw it; later toggles reuse it. */
  Vigie.lazyLayer = function (map, group, options) {
    var state = "idle";
    function load() {
      if (state !== "idle") return;
      state = "loading";
      group.fire("vigie:loading");
      var q = options.query ? "?" + options.query : "";
      fetch(options.url + q, {headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : r.json().then(function (e) { return Promise.reject(e.message || r.status); }); })
        .then(function (fc) {
          var base = fc.style || {};
          var point = fc.point || {};
          L.geoJSON(fc, {
            style: function (f) { return Object.assign({}, base, f.properties._style || {}); },
            pointToLayer: function (f, latlng) {
              return L.circleMarker(latlng, Object.assign({weight: 1, fillOpacity: 0.8}, point, f.properties._style || {}));
            },
            onEachFeature: function (f, layer) { if (f.properties._popup) layer.bindPopup(f.properties._popup); }
          }).addTo(group);
          state = "done";
          group.fire("vigie:drawn", {count: fc.features.length, mode: "lazy"});
        })
        .catch(function (err) {
          state = "idle";
          var ctl = L.control({position: "bottomleft"});
          ctl.onAdd = function () {
            var div = L.DomUtil.create("div", "vigie-hint leaflet-bar");
            div.textContent = "⚠ " + options.name + " : " + err;
            return div;
          };
          ctl.addTo(map);
          setTimeout(function () { ctl.remove(); }, 8000);
        });
    }
    group.on("add", load);
    if (map.hasLayer(group)) load();
    Vigie.layers = Vigie.layers || {};
    Vigie.layers[options.key] = group;
  };

  Vigie.legend = function (map, entries, title) {
    var ctl = L.control({position: "bottomright"});
    ctl.onAdd = function () {
      var div = L.DomUtil.create("div", "vigie-legend leaflet-bar");
      var h = document.createElement("strong");
      h.textContent = title;
      div.appendChild(h);
      entries.forEach(function (e) {
        var block = document.createElement("div");
        block.className = "vigie-legend-layer";
        block.dataset.layer = e.layer;
        e.items.forEach(function (it) {
          var row = document.createElement("div");
          var sw = document.createElement("span");
          sw.className = "vigie-swatch";
          sw.style.background = it.color;
          var tx = document.createElement("span");
          tx.textContent = it.label;
          row.appendChild(sw);
          row.appendChild(tx);
          block.appendChild(row);
        });
        div.appendChild(block);
      });
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    ctl.addTo(map);
    var div = ctl.getContainer();
    function show(name, on) {
      div.querySelectorAll(".vigie-legend-layer").forEach(function (b) {
        if (b.dataset.layer === name) b.style.display = on ? "" : "none";
      });
    }
    entries.forEach(function (e) { if (!e.show) show(e.layer, false); });
    map.on("overlayadd", function (ev) { show(ev.name, true); });
    map.on("overlayremove", function (ev) { show(ev.name, false); });
  };

  window.Vigie = Vigie;
})();
