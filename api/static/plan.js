/* nattvandring: the planners' map.
 *
 * Route plans (js/route_plan.js: clock times, groups) drawn with numbered stops and a timetable,
 * saved as walk routes; walk routes and collaboration zones drawn (Leaflet.draw), snapped to the streets,
 * edited and deleted; heat map and hot spots (js/analysis.js); GPX downloads; the export for
 * collaboration meetings. Every text from the server is put on the page with textContent.
 */
import { addAnalysis } from "./js/analysis.js";
import { addCoverage } from "./js/coverage.js";
import { api, errorText, getJSON } from "./js/api.js";
import { addBaseLayers, createMap } from "./js/map.js";
import { uuid4 } from "./js/queue.js";
import { addRoutePlans } from "./js/route_plan.js";
import { $, el, pageConfig, toast } from "./js/ui.js";

const L = window.L;
const config = pageConfig();
const { map, layers: layerControl } = createMap(config);
addBaseLayers(map, layerControl, config);

var km = function (m) { return (m / 1000).toLocaleString("sv-SE", { maximumFractionDigits: 2 }) + " km"; };

// -- layers ---------------------------------------------------------------------------------------
var routesLayer = L.featureGroup().addTo(map);
var drawnLayer = L.featureGroup().addTo(map);
var zonesDrawn = L.featureGroup().addTo(map);
layerControl.addOverlay(routesLayer, "Sparade rutter");
// The heat map and hot spots follow the area chosen for the route plan.
var areaSelect = $("nv-plan-form").querySelector("[name=area]");
var analysis = addAnalysis(map, layerControl, {
  area: function () { return areaSelect.value; }, form: $("nv-analysis-form") });
areaSelect.addEventListener("change", analysis.reload);
// Hot spots coloured by whether the walks reached them (GET /api/v1/coverage).
var coverage = addCoverage(map, layerControl, {
  area: function () { return areaSelect.value; }, form: $("nv-analysis-form") });
areaSelect.addEventListener("change", coverage.reload);

// -- saved routes ------------------------------------------------------------------------------------
var routeLayers = {};
function loadRoutes() {
  return api("GET", "/api/v1/routes").then(function (fc) {
    routesLayer.clearLayers();
    routeLayers = {};
    var list = $("nv-route-list");
    list.textContent = "";
    fc.features.forEach(function (f) {
      var layer = L.geoJSON(f, { style: { color: "#0057b8", weight: 4, opacity: 0.8, className: "nv-saved-route" } });
      var line = layer.getLayers()[0];
      line.feature = f;
      line.bindPopup(el("div", { class: "nv-popup" }, [
        el("strong", { text: f.properties.name }), el("div", { text: km(f.properties.length_m) })]));
      routesLayer.addLayer(line);
      routeLayers[f.id] = line;
      list.appendChild(routeItem(f, line));
    });
    document.body.setAttribute("data-routes", String(fc.features.length));
  }).catch(function (err) { toast("Kunde inte hämta rutterna: " + err.message, "nv-error"); });
}

function routeItem(f, line) {
  var p = f.properties;
  var item = el("li", { "data-route-id": String(f.id) });
  item.appendChild(el("span", { class: "nv-route-name", text: p.name }));
  item.appendChild(el("span", { class: "nv-muted", text: " " + km(p.length_m) + " · v" + p.version }));
  var row = el("div", { class: "nv-row" });
  var show = el("button", { type: "button", text: "Visa" });
  show.addEventListener("click", function () { map.fitBounds(line.getBounds(), { padding: [30, 30] }); line.openPopup(); });
  var edit = el("button", { type: "button", text: "Redigera", "data-action": "edit" });
  edit.addEventListener("click", function () {
    if (!line.editing.enabled()) {
      line.editing.enable();
      edit.textContent = "Spara ändringar";
      $("nv-edit-status").textContent = "Dra i punkterna för att ändra rutten, spara sedan.";
      return;
    }
    line.editing.disable();
    var coords = line.getLatLngs().map(function (ll) { return [ll.lng, ll.lat]; });
    var body = { type: "Feature", geometry: { type: "LineString", coordinates: coords },
                 properties: { name: p.name, area: p.area, notes: p.notes, version: p.version } };
    var snap = $("nv-snap").checked ? "?snap=true" : "";
    api("PUT", "/api/v1/routes/" + f.id + snap, body).then(function () {
      toast("Rutten är sparad.", "nv-ok");
      $("nv-edit-status").textContent = "";
      loadRoutes();
    }).catch(function (err) { toast("Kunde inte spara: " + err.message, "nv-error"); loadRoutes(); });
  });
  var gpx = el("a", { href: "/api/v1/routes/" + f.id + ".gpx", text: "GPX", class: "nv-button", download: "" });
  var del = el("button", { type: "button", text: "Ta bort" });
  del.addEventListener("click", function () {
    if (!window.confirm("Ta bort rutten " + p.name + "?")) return;
    api("DELETE", "/api/v1/routes/" + f.id).then(loadRoutes)
      .catch(function (err) { toast("Kunde inte ta bort: " + err.message, "nv-error"); });
  });
  [show, edit, gpx, del].forEach(function (b) { row.appendChild(b); });
  item.appendChild(row);
  return item;
}

// -- drawing routes and zones ---------------------------------------------------------------------
var pending = null;  // {kind: "route" | "zone", layer}
var drawOptions = { shapeOptions: { color: "#d95f02", weight: 4 }, showLength: true, metric: true };
$("nv-draw-route").addEventListener("click", function () {
  new L.Draw.Polyline(map, drawOptions).enable();
  $("nv-edit-status").textContent = "Klicka ut rutten på kartan; avsluta med ett klick på sista punkten.";
});
$("nv-draw-zone").addEventListener("click", function () {
  new L.Draw.Polygon(map, { allowIntersection: false, showArea: false,
                             shapeOptions: { color: "#6a3d9a" } }).enable();
  $("nv-edit-status").textContent = "Klicka ut zonens hörn; avsluta på första punkten.";
});
map.on(L.Draw.Event.CREATED, function (e) {
  drawnLayer.clearLayers();
  drawnLayer.addLayer(e.layer);
  pending = { kind: e.layerType === "polyline" ? "route" : "zone", layer: e.layer };
  $("nv-save-drawn").hidden = false;
  $("nv-drawn-name").value = "";
  $("nv-drawn-name").focus();
  $("nv-edit-status").textContent = pending.kind === "route" ? "Ge rutten ett namn och spara." : "Ge zonen ett namn och spara.";
});
$("nv-drawn-cancel").addEventListener("click", function () {
  drawnLayer.clearLayers(); pending = null; $("nv-save-drawn").hidden = true;
  $("nv-edit-status").textContent = "";
});
$("nv-drawn-save").addEventListener("click", function () {
  if (!pending) return;
  var name = $("nv-drawn-name").value.trim();
  if (!name) { $("nv-edit-status").textContent = "Skriv ett namn först."; return; }
  var route = pending.kind === "route";
  var url = route ? "/api/v1/routes" + ($("nv-snap").checked ? "?snap=true" : "") : "/api/v1/zones";
  var ring = route ? null : pending.layer.getLatLngs()[0].map(function (ll) { return [ll.lng, ll.lat]; });
  if (ring) ring.push(ring[0]);
  var body = { type: "Feature", properties: { name: name }, geometry: route
    ? { type: "LineString", coordinates: pending.layer.getLatLngs().map(function (ll) { return [ll.lng, ll.lat]; }) }
    : { type: "Polygon", coordinates: [ring] } };
  // One key per request: pressing "Spara" again after a lost answer stores the shape once;
  // a changed name, shape or snapping is another request with a key of its own.
  var variant = url + JSON.stringify(body);
  pending.keys = pending.keys || {};
  var key = pending.keys[variant] || (pending.keys[variant] = uuid4());
  var request = api("POST", url, body, { "Idempotency-Key": key }).then(function (f) {
    if (route) {
      var moved = f.properties.snap ? " Punkterna flyttades högst " + Math.round(f.properties.snap.max_moved_m) + " m till gatorna." : "";
      toast("Rutten " + f.properties.name + " är sparad (" + km(f.properties.length_m) + ")." + moved, "nv-ok");
      return loadRoutes();
    }
    L.geoJSON(f, { style: { color: "#6a3d9a", weight: 2, fillOpacity: 0.15, className: "nv-new-zone" } }).addTo(zonesDrawn);
    toast("Zonen " + f.properties.name + " är sparad.", "nv-ok");
  });
  request.then(function () {
    drawnLayer.clearLayers(); pending = null; $("nv-save-drawn").hidden = true;
    $("nv-edit-status").textContent = "";
  }).catch(function (err) { $("nv-edit-status").textContent = "Kunde inte spara: " + err.message; });
});

// -- a GPX track from a phone ----------------------------------------------------------------------
$("nv-gpx-file").addEventListener("change", function (e) {
  var file = e.target.files[0];
  if (!file) return;
  var name = file.name.replace(/\.gpx$/i, "") || "GPX-spår";
  var snap = $("nv-snap").checked ? "&snap=true" : "";
  file.arrayBuffer().then(function (data) {
    return fetch("/api/v1/routes/gpx?name=" + encodeURIComponent(name) + snap, {
      method: "POST", credentials: "same-origin", body: data,
      headers: { "Content-Type": "application/gpx+xml", "X-Requested-With": "nattvandring",
                 "Idempotency-Key": uuid4() },
    });
  }).then(function (r) {
    return r.json().then(function (body) {
      if (!r.ok) throw new Error(errorText(body, r.status));
      toast("GPX-spåret är sparat som rutten " + body.properties.name + ".", "nv-ok");
      e.target.value = "";
      return loadRoutes();
    });
  }).catch(function (err) { toast("Kunde inte importera GPX: " + err.message, "nv-error"); });
});

// -- route plans (js/route_plan.js) --------------------------------------------------------------
var form = $("nv-plan-form");
var plans = addRoutePlans(map, layerControl, {
  area: function () { return areaSelect.value; }, saved: function () { return loadRoutes(); } });

// -- export for collaboration meetings --------------------------------------------------------
var exportForm = $("nv-export-form");
(function defaultQuarter() {
  // The last complete quarter, the usual period of a collaboration meeting.
  var now = new Date();
  var q = Math.floor(now.getMonth() / 3);
  var first = new Date(Date.UTC(now.getFullYear(), (q - 1) * 3, 1));
  var last = new Date(Date.UTC(now.getFullYear(), q * 3, 0));
  exportForm.querySelector("[name=since]").value = first.toISOString().slice(0, 10);
  exportForm.querySelector("[name=until]").value = last.toISOString().slice(0, 10);
})();
function exportQuery() {
  var params = new URLSearchParams(new FormData(exportForm));
  return params;
}
$("nv-export-preview").addEventListener("click", function () {
  var out = $("nv-export-result");
  out.textContent = "Räknar …";
  api("GET", "/api/v1/exports/meeting/preview?" + exportQuery().toString()).then(function (p) {
    out.textContent = "";
    out.appendChild(el("div", { text: (p.profile === "partner" ? "Partnerprofil" : "Detaljprofil") +
      ": " + p.reports + " rapporter i perioden." }));
    var ul = el("ul", { class: "nv-preview" });
    p.layers.forEach(function (l) { ul.appendChild(el("li", { text: l.title + ": " + l.rows + " rader" })); });
    out.appendChild(ul);
    if (p.profile === "partner") {
      out.appendChild(el("div", { class: "nv-muted", text: "Utelämnat för att antalet var under 3: " +
        p.suppressed_cell_reports + " rapporter i rutor, " + p.suppressed_zone_reports + " i zoner." }));
    }
    document.body.setAttribute("data-export-preview", "1");
  }).catch(function (err) { out.textContent = "Kunde inte förhandsgranska: " + err.message; });
});

// -- start places: the stations, stops, schools and meeting points, from the API ----------------
var PLACE_KINDS = config.place_kinds || {};
function loadStartPlaces() {
  var kinds = new URLSearchParams();
  config.start_place_kinds.forEach(function (k) { kinds.append("kind", k); });
  return getJSON("/api/v1/places?" + kinds.toString()).then(function (fc) {
    var select = form.querySelector("[name=start]");
    fc.features.slice().sort(function (a, b) {
      return a.properties.name.localeCompare(b.properties.name, "sv") || a.id - b.id;
    }).forEach(function (f) {
      var kind = (PLACE_KINDS[f.properties.kind] || {}).name_sv || f.properties.kind;
      select.appendChild(el("option", { value: String(f.id), text: f.properties.name + " (" + kind + ")" }));
    });
  }).catch(function (err) { toast("Kunde inte hämta startplatserna: " + err.message, "nv-error"); });
}

loadStartPlaces();
loadRoutes();
window.nattvandringPlan = { map: map, routes: routesLayer, plan: plans.layer, coverage: coverage.layer, lastPlan: plans.lastPlan };
