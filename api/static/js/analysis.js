/* nattvandring: heat-map and hot-spot layers for a Leaflet map (situation map and planners' map).
 *
 * addAnalysis(map, layerControl, options) adds two overlays to the layer control, "Värmekarta"
 * (kernel density, an image overlay) and "Hot spots" (Getis-Ord Gi* cells), each with a legend
 * that says what the colours mean, and a filter form (period, time of week, comparison with the
 * previous period, and "show_heat"/"show_hot" boxes) in the element options.form. Layers are
 * fetched when they are switched on and again when a filter changes.
 */
import { errorText } from "./api.js";
import { el } from "./ui.js";

const L = window.L;

var nf = new Intl.NumberFormat("sv-SE", { maximumFractionDigits: 1 });

export function addAnalysis(map, layerControl, options) {
  // options.area: an area slug, or a function that gives the current one.
  var area = typeof options.area === "function" ? options.area : function () { return options.area; };
  var form = options.form;
  var heatGroup = L.layerGroup();
  var hotGroup = L.layerGroup();
  var legendBox = el("div", { class: "nv-legend", id: "nv-legend" });
  legendBox.hidden = true;
  var Legend = L.Control.extend({ onAdd: function () { return legendBox; } });
  new Legend({ position: "bottomright" }).addTo(map);
  L.DomEvent.disableClickPropagation(legendBox);

  layerControl.addOverlay(heatGroup, "Värmekarta");
  layerControl.addOverlay(hotGroup, "Hot spots");

  function query() {
    var days = Number(form.querySelector("[name=period]").value);
    var until = new Date();
    var since = new Date(until.getTime() - days * 86400000);
    var p = new URLSearchParams({ area: area(), since: since.toISOString(), until: until.toISOString() });
    var tow = form.querySelector("[name=tow]").value;
    if (tow) {
      var parts = tow.split("|");
      if (parts[0]) p.set("days", parts[0]);
      if (parts[1]) p.set("hours", parts[1]);
    }
    if (form.querySelector("[name=compare]").checked) p.set("compare", "previous");
    return p;
  }

  var legends = {};
  function renderLegend() {
    legendBox.textContent = "";
    var keys = Object.keys(legends);
    legendBox.hidden = keys.length === 0;
    keys.forEach(function (k) { legendBox.appendChild(legends[k]); });
  }

  function heatLegend(data) {
    var box = el("div", { class: "nv-legend-block" });
    var compare = data.parameters.compare === "previous";
    box.appendChild(el("strong", { text: compare ? "Värmekarta: förändring mot föregående period" : "Värmekarta" }));
    box.appendChild(el("div", { class: "nv-legend-unit",
      text: "rapporter per km² och vecka (viktade), bandbredd " + data.parameters.bandwidth_m + " m" }));
    var ramp = el("div", { class: "nv-legend-ramp" });
    data.legend.stops.forEach(function (s) {
      var swatch = el("span", { class: "nv-legend-step", title: nf.format(s.value) });
      swatch.style.background = s.colour;
      ramp.appendChild(swatch);
    });
    box.appendChild(ramp);
    var first = data.legend.stops[0].value, last = data.legend.stops[data.legend.stops.length - 1].value;
    box.appendChild(el("div", { class: "nv-legend-scale" }, [
      el("span", { text: nf.format(first) }), el("span", { text: nf.format(last) })]));
    return box;
  }

  function hotLegend(fc) {
    var box = el("div", { class: "nv-legend-block" });
    box.appendChild(el("strong", { text: "Hot spots (Getis-Ord Gi*, FDR-korrigerat)" }));
    fc.legend.forEach(function (item) {
      if (!item.colour) return;
      var sw = el("span", { class: "nv-legend-box" });
      sw.style.background = item.colour;
      box.appendChild(el("div", {}, [sw, el("span", { text: item.label })]));
    });
    if (fc.parameters.compare === "previous") {
      box.appendChild(el("div", { class: "nv-legend-unit", text: "Streckad kant: försvunnen hot spot" }));
    }
    box.appendChild(el("div", { class: "nv-legend-unit",
      text: fc.features.length ? "Rutor om " + fc.parameters.cell_m + " m" : "Inga signifikanta hot spots" }));
    return box;
  }

  function fail(box, what, r) {
    return r.json().catch(function () { return {}; }).then(function (body) {
      var msg = errorText(body, r.status);
      legends[what] = el("div", { class: "nv-legend-block nv-error", text: "Kunde inte hämta " + what + ": " + msg });
      renderLegend();
    });
  }

  // The heat map and the hot spots are heavy jobs: one at a time per user (api/heavy.py). The
  // second of the two asked together gets a 429 (or a 503 when the server is busy) with
  // Retry-After, and is asked again after that many seconds, a few times.
  function fetchHeavy(url, tries) {
    tries = tries === undefined ? 4 : tries;
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if ((r.status === 429 || r.status === 503) && tries > 1) {
        var wait = Math.min(10, Number(r.headers.get("Retry-After")) || 1);
        return new Promise(function (ok) { setTimeout(ok, wait * 1000); }).then(function () {
          return fetchHeavy(url, tries - 1);
        });
      }
      return r;
    });
  }

  function loadHeat() {
    if (!map.hasLayer(heatGroup)) { delete legends.heat; renderLegend(); return; }
    var p = query();
    p.set("format", "overlay");
    fetchHeavy("/api/v1/heatmap?" + p.toString()).then(function (r) {
      if (!r.ok) return fail(legendBox, "heat", r);
      return r.json().then(function (data) {
        heatGroup.clearLayers();
        L.imageOverlay(data.image, data.bounds, { opacity: 1, className: "nv-heat", interactive: false }).addTo(heatGroup);
        legends.heat = heatLegend(data);
        renderLegend();
        document.body.setAttribute("data-heat", "1");
      });
    });
  }

  function loadHot() {
    if (!map.hasLayer(hotGroup)) { delete legends.hot; renderLegend(); return; }
    fetchHeavy("/api/v1/hotspots?" + query().toString()).then(function (r) {
      if (!r.ok) return fail(legendBox, "hot", r);
      return r.json().then(function (fc) {
        hotGroup.clearLayers();
        L.geoJSON(fc, {
          style: function (f) {
            var p = f.properties;
            var gone = p.change === "gone";
            return { color: gone ? "#333333" : (p.colour || "#999999"), weight: gone ? 2 : 1,
                     dashArray: gone ? "4 3" : null, fillColor: p.colour || "#ffffff",
                     fillOpacity: p.colour ? 0.55 : 0, className: "nv-hotspot" };
          },
          onEachFeature: function (f, layer) {
            var p = f.properties;
            var box = el("div", { class: "nv-popup" }, [
              el("strong", { text: p.label }),
              el("div", { text: "Antal rapporter i rutan: " + p.count }),
              el("div", { text: "z = " + nf.format(p.z) + ", q = " + p.q.toPrecision(2) }),
            ]);
            if (p.change_sv) box.appendChild(el("div", { text: "Jämfört med föregående period: " + p.change_sv }));
            layer.bindPopup(box);
          },
        }).addTo(hotGroup);
        legends.hot = hotLegend(fc);
        renderLegend();
        document.body.setAttribute("data-hotspots", String(fc.features.length));
      });
    });
  }

  // The form's "show" boxes switch the layers too, and follow the layer control.
  [["show_heat", heatGroup], ["show_hot", hotGroup]].forEach(function (pair) {
    var box = form.querySelector("[name=" + pair[0] + "]");
    if (!box) return;
    box.addEventListener("change", function (e) {
      e.stopPropagation();
      if (box.checked) map.addLayer(pair[1]); else map.removeLayer(pair[1]);
    });
    map.on("layeradd layerremove", function () { box.checked = map.hasLayer(pair[1]); });
  });

  map.on("overlayadd overlayremove", function (e) {
    if (e.layer === heatGroup) loadHeat();
    if (e.layer === hotGroup) loadHot();
  });
  form.addEventListener("change", function () { loadHeat(); loadHot(); });
  return { heat: heatGroup, hot: hotGroup, reload: function () { loadHeat(); loadHot(); } };
}
