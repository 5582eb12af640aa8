/* nattvandring: the planners' map.
 *
 * Route plans (POST /api/v1/route-plans) drawn with numbered stops and a timetable, saved as
 * walk routes; walk routes and collaboration zones drawn (Leaflet.draw), snapped to the streets,
 * edited by their waypoints and deleted (js/route_edit.js); the zone list (js/zones.js); the
 * triage of reports (js/triage.js); heat map and hot spots (js/analysis.js); GPX downloads; the
 * export for collaboration meetings. Every text from the server is put on the page with textContent.
 */
import { addAnalysis } from "./js/analysis.js";
import { addCoverage } from "./js/coverage.js";
import { api, errorText, getJSON } from "./js/api.js";
import { addBaseLayers, createMap } from "./js/map.js";
import { uuid4 } from "./js/queue.js";
import { addRouteEditing } from "./js/route_edit.js";
import { addTriage } from "./js/triage.js";
import { addZones } from "./js/zones.js";
import { $, el, pageConfig, toast } from "./js/ui.js";

const L = window.L;
const config = pageConfig();
const { map, layers: layerControl } = createMap(config);
var baseLayers = addBaseLayers(map, layerControl, config);

var km = function (m) { return (m / 1000).toLocaleString("sv-SE", { maximumFractionDigits: 2 }) + " km"; };
var clock = new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Stockholm", hour: "2-digit", minute: "2-digit" });

// -- layers ---------------------------------------------------------------------------------------
var planLayer = L.featureGroup().addTo(map);
layerControl.addOverlay(planLayer, "Ruttförslag");
// The heat map and hot spots follow the area chosen for the route plan.
var areaSelect = $("nv-plan-form").querySelector("[name=area]");
var analysis = addAnalysis(map, layerControl, {
  area: function () { return areaSelect.value; }, form: $("nv-analysis-form") });
areaSelect.addEventListener("change", analysis.reload);
// Hot spots coloured by whether the walks reached them (GET /api/v1/coverage).
var coverage = addCoverage(map, layerControl, {
  area: function () { return areaSelect.value; }, form: $("nv-analysis-form") });
areaSelect.addEventListener("change", coverage.reload);

// -- saved routes (each in its colour, edited by their waypoints), drawing routes and zones,
// the zone list and the triage of reports: their own modules.
var triage = addTriage(map, layerControl, config);
var zoneList = addZones(map, { layer: baseLayers.then(function (l) { return l.zones; }),
                               onChange: triage.setZones });
var routeEditing = addRouteEditing(map, layerControl, { onZoneSaved: zoneList.reload });
var routesLayer = routeEditing.layer;
function loadRoutes() { return routeEditing.reload(); }

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

// -- route plans ----------------------------------------------------------------------------------
var form = $("nv-plan-form");
var startPoint = null, startMarker = null, lastPlan = null;
map.on("click", function (e) {
  if (form.querySelector("[name=start]").value !== "map") return;
  startPoint = [e.latlng.lng, e.latlng.lat];
  if (startMarker) startMarker.setLatLng(e.latlng);
  else startMarker = L.marker(e.latlng, { title: "Start" }).addTo(planLayer);
  $("nv-plan-status").textContent = "Startpunkt vald på kartan.";
});

form.addEventListener("submit", function (e) {
  e.preventDefault();
  var startValue = form.querySelector("[name=start]").value;
  var start;
  if (startValue === "map") {
    if (!startPoint) { $("nv-plan-status").textContent = "Välj en startplats i listan, eller klicka på kartan."; return; }
    start = { type: "Point", coordinates: startPoint };
  } else {
    start = { place_id: Number(startValue) };
  }
  var days = Number(form.querySelector("[name=period]").value);
  var tow = form.querySelector("[name=tow]").value.split("|");
  var now = new Date();
  var body = {
    area: form.querySelector("[name=area]").value,
    start: start,
    duration_min: Number(form.querySelector("[name=duration]").value),
    speed_kmh: Number(form.querySelector("[name=speed]").value),
    dwell_min: Number(form.querySelector("[name=dwell]").value),
    since: new Date(now.getTime() - days * 86400000).toISOString(),
    until: now.toISOString(),
    time_limit_s: 1.0,
  };
  if (tow[0]) body.days = tow[0];
  if (tow[1]) body.hours = tow[1];
  $("nv-plan-status").textContent = "Räknar fram en rutt …";
  $("nv-plan-result").textContent = "";
  api("POST", "/api/v1/route-plans", body).then(showPlan).catch(function (err) {
    $("nv-plan-status").textContent = "Inget ruttförslag: " + err.message;
  });
});

function showPlan(f) {
  lastPlan = f;
  planLayer.clearLayers();
  if (startMarker) planLayer.addLayer(startMarker);
  var p = f.properties;
  var line = L.geoJSON(f, { style: { color: "#e31a1c", weight: 5, opacity: 0.85, className: "nv-plan-route" } });
  line.addTo(planLayer);
  p.stops.forEach(function (s, i) {
    var icon = L.divIcon({ className: "nv-stop-icon", html: String(i + 1), iconSize: [24, 24] });
    if (s.snap_m > 15) {
      // A thin line from the place itself to where the walk stops for it.
      L.polyline([[s.lat, s.lon], [s.on_route[1], s.on_route[0]]],
                 { color: "#e31a1c", weight: 1, dashArray: "3 4", interactive: false }).addTo(planLayer);
    }
    L.marker([s.on_route[1], s.on_route[0]], { icon: icon, title: (i + 1) + ". " + s.name })
      .bindPopup(el("div", { class: "nv-popup" }, [
        el("strong", { text: (i + 1) + ". " + s.name }),
        el("div", { text: "Framme efter " + Math.round(s.arrive_min) + " min, stanna " + s.dwell_min + " min" })]))
      .addTo(planLayer);
  });
  if (p.stops.length || f.geometry.coordinates.length > 1) map.fitBounds(planLayer.getBounds(), { padding: [30, 30] });
  $("nv-plan-status").textContent = p.stops.length + " stopp, " + km(p.length_m) + ", " + Math.round(p.duration_min) +
    " av " + Math.round(p.budget_min) + " minuter (" + Math.round(p.walking_min) + " min gång).";
  var box = $("nv-plan-result");
  box.textContent = "";
  var table = el("table", { class: "nv-table" });
  table.appendChild(el("tr", {}, [el("th", { text: "#" }), el("th", { text: "Stopp" }), el("th", { text: "Framme" }), el("th", { text: "Prio" })]));
  p.stops.forEach(function (s, i) {
    var at = s.arrive ? clock.format(new Date(s.arrive)) : "+" + Math.round(s.arrive_min) + " min";
    table.appendChild(el("tr", { class: "nv-stop-row" }, [el("td", { text: String(i + 1) }), el("td", { text: s.name }),
      el("td", { text: at }), el("td", { text: String(Math.round(s.priority * 10) / 10) })]));
  });
  box.appendChild(table);
  if (p.left_out.length) {
    var details = el("details", {}, [el("summary", { text: p.left_out.length + " kandidater kom inte med" })]);
    var ul = el("ul", { class: "nv-left-out" });
    p.left_out.forEach(function (lo) { ul.appendChild(el("li", { text: lo.name + ": " + lo.reason })); });
    details.appendChild(ul);
    box.appendChild(details);
  }
  var name = el("input", { id: "nv-plan-name", maxlength: "200", value: "Ruttförslag " + new Date().toLocaleDateString("sv-SE") });
  var save = el("button", { type: "button", class: "nv-primary", id: "nv-plan-save", text: "Spara som rutt" });
  var idempotency = uuid4();
  save.addEventListener("click", function () {
    if (f.geometry.coordinates.length < 2) { toast("Förslaget har ingen sträcka att spara.", "nv-error"); return; }
    api("POST", "/api/v1/routes", {
      type: "Feature", geometry: f.geometry,
      properties: { name: name.value.trim() || "Ruttförslag", area: p.area, source: "planned",
                    notes: p.stops.length + " stopp, " + Math.round(p.duration_min) + " min",
                    plan: { stops: p.stops, duration_min: p.duration_min, length_m: p.length_m } },
    }, { "Idempotency-Key": idempotency }).then(function (route) {
      toast("Sparad som rutt " + route.properties.name + ".", "nv-ok");
      var link = el("a", { href: "/api/v1/routes/" + route.id + ".gpx", text: "Ladda ner GPX", id: "nv-plan-gpx", class: "nv-button", download: "" });
      box.appendChild(link);
      loadRoutes();
    }).catch(function (err) { toast("Kunde inte spara: " + err.message, "nv-error"); });
  });
  box.appendChild(el("div", { class: "nv-row" }, [el("label", { text: "Namn " }, [name]), save]));
  document.body.setAttribute("data-plan-stops", String(p.stops.length));
}

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
window.nattvandringPlan = { map: map, routes: routesLayer, triage: triage.layer, plan: planLayer, coverage: coverage.layer, lastPlan: function () { return lastPlan; } };
