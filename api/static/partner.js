/* nattvandring: the partners' page (police, property owners).
 *
 * What a partner may read, and nothing more (DESIGN.md decision 8): the counts per zone and
 * 250 m cell by category and week (GET /api/v1/deviation-aggregates, the same numbers as the
 * partner export), the hot spots drawn from cells of at least 3 reports
 * (GET /api/v1/deviation-aggregates/hotspots), and the meeting export in every format (a POST
 * download, as the planners' page makes it) with its preview of rows per layer. No single
 * report and no exact time: a week is shown as "v. 47 2026", days as dates.
 */
import { call, errorText } from "./js/api.js";
import { addBaseLayers, createMap, infoBox, untabbable } from "./js/map.js";
import { $, el, pageConfig } from "./js/ui.js";

const L = window.L;
const config = pageConfig();
const { map, layers: layerControl } = createMap(config);
addBaseLayers(map, layerControl, config);
const aggregateLayer = L.featureGroup().addTo(map);
const hotLayer = L.featureGroup().addTo(map);
layerControl.addOverlay(aggregateLayer, "Avvikelser per zon och ruta");
layerControl.addOverlay(hotLayer, "Här har många avvikelser rapporterats");

const periodForm = $("nv-partner-period");
const exportForm = $("nv-export-form");
function isoDate(d) { return d.toISOString().slice(0, 10); }
(function defaultPeriod() {
  const today = new Date();
  periodForm.elements.since.value = isoDate(new Date(today.getTime() - config.default_days * 86400000));
  periodForm.elements.until.value = isoDate(today);
})();
function period() {
  return { since: periodForm.elements.since.value, until: periodForm.elements.until.value };
}
function countWord(n) { return n === 1 ? "1 avvikelse" : n + " avvikelser"; }
/** "2026-W47" → "v. 47 2026"; a night's date as it is. */
function weekText(label) {
  const m = /^(\d{4})-W(\d{2})$/.exec(label);
  return m ? "v. " + Number(m[2]) + " " + m[1] : label;
}
function setStatus(text) { $("nv-status").textContent = text; }
function row(cells) { return el("tr", {}, cells.map((c) => el("td", { text: String(c) }))); }
function failed(r) { return errorText(r.data, r.status); }

async function loadAggregates() {
  const p = period();
  const params = new URLSearchParams({ area: config.area, bucket: "week", since: p.since, until: p.until });
  setStatus("Hämtar sammanställningen …");
  let r;
  try { r = await call("GET", "/api/v1/deviation-aggregates?" + params.toString()); } catch (err) {
    setStatus("Kunde inte hämta sammanställningen: ingen kontakt med servern."); return;
  }
  if (r.status === 401) { window.location.href = "/login?next=/"; return; }
  if (!r.ok) { setStatus("Kunde inte hämta sammanställningen: " + failed(r)); return; }
  const shapes = new Map();
  const zoneRows = [];
  const cellSums = new Map();
  for (const f of r.data.features) {
    const q = f.properties;
    const key = q.layer + ":" + (q.zone || q.cell);
    if (!shapes.has(key)) shapes.set(key, { feature: f, total: 0, byCategory: new Map() });
    const s = shapes.get(key);
    s.total += q.count;
    s.byCategory.set(q.category_sv, (s.byCategory.get(q.category_sv) || 0) + q.count);
    if (q.layer === "zone") zoneRows.push(q);
    else {
      const k = q.period + "|" + q.category_sv;
      const c = cellSums.get(k) || { period: q.period, category: q.category_sv, cells: 0, count: 0 };
      c.cells += 1; c.count += q.count;
      cellSums.set(k, c);
    }
  }
  aggregateLayer.clearLayers();
  let total = 0;
  for (const s of shapes.values()) {
    const q = s.feature.properties;
    if (q.layer === "cell") total += s.total;
    const layer = L.geoJSON(s.feature, {
      style: () => ({
        color: q.layer === "zone" ? "#6a3d9a" : "#b35806", weight: q.layer === "zone" ? 3 : 1,
        fillColor: "#e66101", fillOpacity: Math.min(0.7, 0.15 + s.total / 40), className: "nv-aggregate",
      }),
    });
    const rows = [[q.layer === "zone" ? "Zon" : "Ruta 250 m", q.zone_name || ""], ["Totalt", countWord(s.total)]];
    for (const [name, n] of s.byCategory) rows.push([name, String(n)]);
    layer.bindTooltip(infoBox(rows), { sticky: true });
    aggregateLayer.addLayer(layer);
    untabbable(layer);
  }
  const byWeek = (a, b) => (a.period < b.period ? 1 : a.period > b.period ? -1 : 0);
  const zoneBody = $("nv-zone-table").querySelector("tbody");
  zoneBody.replaceChildren(...zoneRows.sort((a, b) => byWeek(a, b) || (a.zone_name || "").localeCompare(b.zone_name || "", "sv"))
    .map((q) => row([q.zone_name || q.zone, weekText(q.period), q.category_sv, q.count])));
  const cellBody = $("nv-cell-table").querySelector("tbody");
  cellBody.replaceChildren(...[...cellSums.values()].sort(byWeek)
    .map((c) => row([weekText(c.period), c.category, c.cells, c.count])));
  if (!zoneRows.length) zoneBody.appendChild(row(["Inga zoner med minst " + r.data.min_count + " avvikelser.", "", "", ""]));
  if (!cellSums.size) cellBody.appendChild(row(["Inga rutor med minst " + r.data.min_count + " avvikelser.", "", "", ""]));
  // The period counted: whole weeks, Monday to Sunday, around the days asked (no part of a week
  // is ever counted, so that two periods cannot be subtracted to find one report).
  setStatus(countWord(total) + " i rutor med minst " + r.data.min_count + " avvikelser, hela veckor " +
    r.data.since + " – " + r.data.until);
  document.body.setAttribute("data-aggregates", String(shapes.size));
}

async function loadHotspots() {
  const p = period();
  const params = new URLSearchParams({ area: config.area, since: p.since, until: p.until });
  const summary = $("nv-hot-summary");
  summary.textContent = "Räknar …";
  let r;
  try { r = await call("GET", "/api/v1/deviation-aggregates/hotspots?" + params.toString()); } catch (err) {
    summary.textContent = "Kunde inte hämta: ingen kontakt med servern."; return;
  }
  if (!r.ok) { summary.textContent = "Kunde inte hämta: " + failed(r); return; }
  hotLayer.clearLayers();
  const list = $("nv-hot-list");
  list.replaceChildren();
  r.data.features.forEach((f, i) => {
    const q = f.properties;
    const layer = L.geoJSON(f, {
      style: () => ({ color: "#7f0000", weight: 2, fillColor: "#d7301f", fillOpacity: 0.45, className: "nv-hotspot" }),
    });
    const what = q.class_sv + (q.count ? ", " + countWord(q.count) : "");
    layer.bindTooltip(infoBox([["Område " + (i + 1), what]]), { sticky: true });
    hotLayer.addLayer(layer);
    untabbable(layer);
    list.appendChild(el("li", { text: "Område " + (i + 1) + ": " + what }));
  });
  summary.textContent = r.data.features.length === 0
    ? "Inga områden sticker ut under perioden."
    : (r.data.features.length === 1 ? "1 område" : r.data.features.length + " områden") +
      " med många avvikelser (rutor om " + r.data.cell_m + " m, bara från rutor med minst 3 avvikelser).";
  document.body.setAttribute("data-hotspots", String(r.data.features.length));
}

function syncExport() {
  const p = period();
  exportForm.elements.since.value = p.since;
  exportForm.elements.until.value = p.until;
}
$("nv-export-preview").addEventListener("click", async () => {
  syncExport();
  const out = $("nv-export-result");
  out.textContent = "Räknar …";
  const params = new URLSearchParams({ profile: "partner", area: config.area, ...period() });
  let r;
  try { r = await call("GET", "/api/v1/exports/meeting/preview?" + params.toString()); } catch (err) {
    out.textContent = "Kunde inte förhandsgranska: ingen kontakt med servern."; return;
  }
  if (!r.ok) { out.textContent = "Kunde inte förhandsgranska: " + failed(r); return; }
  const ul = el("ul", { class: "nv-preview" });
  r.data.layers.forEach((l) => ul.appendChild(el("li", { text: l.title + ": " + l.rows + (l.rows === 1 ? " rad" : " rader") })));
  out.replaceChildren(ul, el("div", { class: "nv-muted", text: "Utelämnat för att antalet var under 3: " +
    r.data.suppressed_cell_reports + " rapporter i rutor, " + r.data.suppressed_zone_reports + " i zoner." }));
  document.body.setAttribute("data-export-preview", String(r.data.layers.length));
});
exportForm.addEventListener("submit", syncExport);
periodForm.addEventListener("submit", (e) => { e.preventDefault(); syncExport(); loadAggregates(); loadHotspots(); });

syncExport();
loadAggregates();
loadHotspots();
window.nattvandring = { map, aggregateLayer, hotLayer };
