/* nattvandring: the planners' triage of reports on the planners' map (issue 15).
 *
 * addTriage(map, layerControl, config) adds the overlay "Rapporter" (the reports of the list,
 * each a dot in its category's colour with a popup) and fills the panel's list (#nv-triage-list)
 * from GET /api/v1/deviations with the form's filters (area, period, category, status, zone and
 * a search of the descriptions). A report's status changes from its popup or its list row, and
 * several at once from the list's ticked rows (POST /api/v1/deviations/status, audited by the
 * API). "N nya sedan du senast tittade" comes from GET /api/v1/me/triage; "Markera som sedda"
 * posts /api/v1/me/triage/seen. Every text from the server reaches the page as textContent.
 *
 * Returns {layer, reload, setZones(featureCollection)}.
 */
import { api } from "./api.js";
import { infoBox } from "./map.js";
import { $, el, timeFormat, toast } from "./ui.js";

const L = window.L;
const LIMIT = 200;
export const STATUS_SV = { new: "Ny", confirmed: "Bekräftad", dismissed: "Avfärdad" };
/* What a report's buttons do: to each status from the others. */
const ACTIONS = [["confirmed", "Bekräfta"], ["dismissed", "Avfärda"], ["new", "Ny igen"]];
const DONE_SV = {
  confirmed: ["bekräftad", "bekräftade"], dismissed: ["avfärdad", "avfärdade"],
  new: ["markerad som ny", "markerade som nya"],
};
const count = new Intl.NumberFormat("sv-SE");

export function addTriage(map, layerControl, config) {
  const form = $("nv-triage-form");
  const list = $("nv-triage-list");
  const status = $("nv-triage-status");
  const layer = L.featureGroup().addTo(map);
  layerControl.addOverlay(layer, "Rapporter");
  const markers = {};
  let shown = [];
  let generation = 0;
  const areaNames = {};
  for (const a of config.areas || []) areaNames[a.slug] = a.name;

  function query() {
    const p = new URLSearchParams({ limit: String(LIMIT) });
    const days = Number(form.elements.period.value) || 30;
    p.set("since", new Date(Date.now() - days * 86400000).toISOString());
    for (const name of ["area", "category", "status", "zone"]) {
      if (form.elements[name].value) p.set(name, form.elements[name].value);
    }
    const q = form.elements.q.value.trim();
    if (q) p.set("q", q);
    return p;
  }

  function reload() {
    const mine = ++generation;
    status.textContent = "Hämtar rapporter …";
    return api("GET", "/api/v1/deviations?" + query().toString()).then(function (fc) {
      if (mine !== generation) return;  // a newer filter's answer is on its way
      draw(fc);
      status.textContent = fc.numberMatched > fc.features.length
        ? "Visar de " + count.format(fc.features.length) + " senaste av " + count.format(fc.numberMatched) + " rapporter."
        : count.format(fc.features.length) + (fc.features.length === 1 ? " rapport." : " rapporter.");
    }).catch(function (err) {
      if (mine !== generation) return;
      status.textContent = "Kunde inte hämta rapporterna: " + err.message;
    }).then(loadCount);
  }

  function draw(fc) {
    layer.clearLayers();
    list.textContent = "";
    $("nv-triage-all").checked = false;
    for (const key of Object.keys(markers)) delete markers[key];
    shown = fc.features;
    for (const f of fc.features) {
      const p = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      const marker = L.circleMarker([lat, lon], {
        radius: 7, weight: 2, color: p.status === "new" ? "#000000" : "#777777",
        fillColor: p.colour || "#666666", fillOpacity: p.status === "dismissed" ? 0.25 : 0.85,
        className: "nv-triage-report nv-status-" + p.status,
      });
      marker.bindPopup(function () { return popup(f); });
      marker.addTo(layer);
      markers[f.id] = marker;
      list.appendChild(row(f));
    }
    document.body.setAttribute("data-triage", String(fc.features.length));
  }

  function buttons(f, where) {
    const box = el("div", { class: "nv-row" });
    for (const [to, label] of ACTIONS) {
      if (to === f.properties.status) continue;
      const b = el("button", { type: "button", text: label, "data-status": to, "data-where": where });
      b.addEventListener("click", function () { change([f.id], to); });
      box.appendChild(b);
    }
    return box;
  }

  function popup(f) {
    const p = f.properties;
    const box = infoBox([
      ["Kategori", p.category_sv], ["Tid", timeFormat.format(new Date(p.observed_at))],
      ["Status", STATUS_SV[p.status]], ["Allvar", p.severity], ["Område", areaNames[p.area] || p.area],
      ["Beskrivning", p.description],
    ]);
    box.classList.add("nv-triage-popup");
    box.setAttribute("data-deviation-id", f.id);
    box.appendChild(buttons(f, "popup"));
    return box;
  }

  function row(f) {
    const p = f.properties;
    const item = el("li", { "data-deviation-id": f.id, "data-status": p.status });
    const tick = el("input", { type: "checkbox", class: "nv-triage-tick", value: f.id,
                              "aria-label": "Markera " + p.category_sv + " " + timeFormat.format(new Date(p.observed_at)) });
    item.appendChild(el("label", {}, [tick]));
    const swatch = el("span", { class: "nv-swatch" });
    swatch.style.background = p.colour || "#666666";
    const body = el("div", { class: "nv-triage-body" }, [
      el("div", {}, [swatch, el("strong", { text: p.category_sv }),
        el("span", { class: "nv-muted", text: " " + timeFormat.format(new Date(p.observed_at)) + " · " + STATUS_SV[p.status] })]),
    ]);
    if (p.description) body.appendChild(el("div", { class: "nv-triage-text", text: p.description }));
    const actions = buttons(f, "list");
    const show = el("button", { type: "button", text: "Visa" });
    show.addEventListener("click", function () {
      const m = markers[f.id];
      map.setView(m.getLatLng(), Math.max(map.getZoom(), 16));
      m.openPopup();
    });
    actions.insertBefore(show, actions.firstChild);
    body.appendChild(actions);
    item.appendChild(body);
    return item;
  }

  function change(ids, to) {
    status.textContent = "Sparar …";
    return api("POST", "/api/v1/deviations/status", { ids: ids, status: to }).then(function (r) {
      map.closePopup();
      const n = r.changes.length;
      const words = DONE_SV[to];
      toast((n === 1 ? "1 rapport " + words[0] : count.format(n) + " rapporter " + words[1]) + ".", "nv-ok");
      return reload();
    }).catch(function (err) {
      status.textContent = "Kunde inte ändra status: " + err.message;
      toast("Kunde inte ändra status: " + err.message, "nv-error");
    });
  }

  function ticked() {
    return Array.from(list.querySelectorAll(".nv-triage-tick:checked")).map(function (b) { return b.value; });
  }
  for (const id of ["nv-triage-confirm", "nv-triage-dismiss"]) {
    $(id).addEventListener("click", function (e) {
      const ids = ticked();
      if (!ids.length) { status.textContent = "Markera först de rapporter som ska ändras."; return; }
      change(ids, e.currentTarget.getAttribute("data-status"));
    });
  }
  $("nv-triage-all").addEventListener("change", function (e) {
    for (const b of list.querySelectorAll(".nv-triage-tick")) b.checked = e.target.checked;
  });

  // Only the answer of the last count asked for is shown: a count read before "Markera som
  // sedda" may arrive after its answer.
  let counting = 0;
  function loadCount() {
    const mine = ++counting;
    const area = form.elements.area.value;
    const url = "/api/v1/me/triage" + (area ? "?area=" + encodeURIComponent(area) : "");
    return api("GET", url).then(function (state) { if (mine === counting) showCount(state); })
      .catch(function () { /* the list still works */ });
  }
  function showCount(state) {
    const n = state.new_since_seen;
    const badge = $("nv-triage-badge");
    badge.hidden = n === 0;
    badge.textContent = count.format(n);
    badge.setAttribute("title", n + " nya sedan du senast tittade");
    $("nv-triage-new").hidden = false;
    $("nv-triage-new-text").textContent = n === 0 ? "Inga nya sedan du senast tittade. "
      : count.format(n) + (n === 1 ? " ny" : " nya") + " sedan du senast tittade. ";
    $("nv-triage-seen").hidden = n === 0;
    document.body.setAttribute("data-triage-new", String(n));
  }
  $("nv-triage-seen").addEventListener("click", function () {
    const area = form.elements.area.value;
    const mine = ++counting;
    api("POST", "/api/v1/me/triage/seen" + (area ? "?area=" + encodeURIComponent(area) : ""))
      .then(function (state) { if (mine === counting) showCount(state); }).catch(function (err) { toast("Kunde inte spara: " + err.message, "nv-error"); });
  });

  let typing = null;
  form.addEventListener("change", reload);
  form.elements.q.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(reload, 400); });
  form.addEventListener("submit", function (e) { e.preventDefault(); reload(); });

  function setZones(fc) {
    const select = form.elements.zone;
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    const zones = fc.features.slice().sort(function (a, b) {
      return a.properties.name.localeCompare(b.properties.name, "sv");
    });
    for (const z of zones) select.appendChild(el("option", { value: z.id, text: z.properties.name }));
    select.value = zones.some(function (z) { return z.id === chosen; }) ? chosen : "";
  }

  reload();
  return { layer: layer, reload: reload, setZones: setZones, shown: function () { return shown; } };
}
