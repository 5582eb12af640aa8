/* nattvandring: the planners' map.
 *
 * Route plans (js/route_plan.js: clock times, groups) drawn with numbered stops and a timetable,
 * saved as walk routes; walk routes and collaboration zones drawn (Leaflet.draw), snapped to the
 * streets, edited by their waypoints and deleted (js/route_edit.js); the zone list (js/zones.js);
 * the triage of reports (js/triage.js); heat map and hot spots (js/analysis.js); GPX downloads;
 * the export for collaboration meetings. Every text from the server is put on the page with
 * textContent.
 */
import { addAnalysis } from "./js/analysis.js";
import { addCoverage } from "./js/coverage.js";
import { api, errorText, getJSON } from "./js/api.js";
import { addBaseLayers, createMap } from "./js/map.js";
import { uuid4 } from "./js/queue.js";
import { addRouteEditing } from "./js/route_edit.js";
import { addRoutePlans } from "./js/route_plan.js";
import { addTriage } from "./js/triage.js";
import { addZones } from "./js/zones.js";
import { $, el, pageConfig, toast } from "./js/ui.js";

const L = window.L;
const config = pageConfig();
const { map, layers: layerControl } = createMap(config);
var baseLayers = addBaseLayers(map, layerControl, config);

var km = function (m) { return (m / 1000).toLocaleString("sv-SE", { maximumFractionDigits: 2 }) + " km"; };

// -- layers ---------------------------------------------------------------------------------------
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
window.nattvandringPlan = { map: map, routes: routesLayer, triage: triage.layer, plan: plans.layer, coverage: coverage.layer, lastPlan: plans.lastPlan };
