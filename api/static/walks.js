/* nattvandring: the planners' walks page (/plan/walks).
 *
 * The week or the season as a list and a calendar (GET /api/v1/walks, filtered by club, area and
 * status), the walks short of walkers in the coming week and those not reported two days after
 * their end (GET /api/v1/walks/flags), and one walk at a time: its sign-ups, its report, and its
 * track on the map against its planned route with the plan-vs-walked figures. Swedish dates and
 * decimal commas (Intl, sv-SE); every text from the server goes in through textContent.
 * Reported walks are approved or rejected here, one at a time or the checked ones at once
 * (js/approval.js).
 */
import { call, getJSON } from "./js/api.js";
import { addBaseLayers, createMap } from "./js/map.js";
import { approveMany, decisionSection } from "./js/approval.js";
import { $, el, pageConfig, toast } from "./js/ui.js";
import { CONTACTS_SV, MOOD_SV, STATUS_SV, clockFormat, timeSpan } from "./js/walk.js";

const L = window.L;
const config = pageConfig();
const { map, layers: layerControl } = createMap(config, "nv-walks-map");
addBaseLayers(map, layerControl, config);
const walkLayer = L.featureGroup().addTo(map);

const TZ = "Europe/Stockholm";
const dayFormat = new Intl.DateTimeFormat("sv-SE", { timeZone: TZ, weekday: "short", day: "numeric", month: "short" });
const longDate = new Intl.DateTimeFormat("sv-SE", { timeZone: TZ, weekday: "long", day: "numeric", month: "long", year: "numeric" });
const dateTime = new Intl.DateTimeFormat("sv-SE", { timeZone: TZ, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const dayKeyFormat = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" });
const km = new Intl.NumberFormat("sv-SE", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const pct = new Intl.NumberFormat("sv-SE", { style: "percent", maximumFractionDigits: 0 });

/** 3,2 km (decimal comma). */
export function kmText(metres) { return km.format(metres / 1000) + " km"; }

const state = { period: "week", offset: 0, view: "list", walks: [], clubs: new Set(), flags: null, selected: null, checked: new Set() };

// -- the period: this week (Monday to Sunday) or the season (a half-year) ------------------------
function iso(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
}
function periodRange(period, offset, today = new Date()) {
  if (period === "week") {
    const monday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - ((today.getDay() + 6) % 7) + 7 * offset);
    const sunday = new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + 6);
    return { since: monday, until: sunday };
  }
  // The spring season January–June, the autumn season July–December.
  const half = Math.floor(today.getMonth() / 6) + offset;
  const year = today.getFullYear() + Math.floor(half / 2);
  const first = ((half % 2) + 2) % 2 === 0 ? 0 : 6;
  return { since: new Date(year, first, 1), until: new Date(year, first + 6, 0) };
}
const shortDate = new Intl.DateTimeFormat("sv-SE", { day: "numeric", month: "short", year: "numeric" });
function periodLabel(r) {
  return state.period === "week"
    ? "vecka " + isoWeek(r.since) + ": " + shortDate.format(r.since) + " – " + shortDate.format(r.until)
    : (r.since.getMonth() === 0 ? "våren " : "hösten ") + r.since.getFullYear();
}
function isoWeek(d) {
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  t.setUTCDate(t.getUTCDate() + 4 - (t.getUTCDay() || 7));
  const y0 = new Date(Date.UTC(t.getUTCFullYear(), 0, 1));
  return Math.ceil(((t - y0) / 86400000 + 1) / 7);
}

// -- loading ----------------------------------------------------------------------------------
const filterForm = $("nv-walks-filter");
let seq = 0;
async function load() {
  const mine = ++seq;
  const r = periodRange(state.period, state.offset);
  $("nv-walks-period").textContent = periodLabel(r);
  const params = new URLSearchParams({ since: iso(r.since), until: iso(r.until) });
  for (const name of ["organisation", "area", "status"]) {
    const v = filterForm.elements[name].value;
    if (v) params.set(name, v);
  }
  setStatus("Hämtar passen …");
  try {
    const data = await getJSON("/api/v1/walks?" + params.toString());
    if (mine !== seq) return;
    state.walks = data.walks;
    data.walks.forEach((w) => state.clubs.add(w.organisation.name));
    renderClubs();
    const more = data.numberMatched > data.walks.length ? " (" + data.walks.length + " visas)" : "";
    setStatus(countWord(data.numberMatched) + " " + periodLabel(r) + more);
    render();
    document.body.setAttribute("data-walks", String(data.walks.length));
  } catch (err) {
    if (mine !== seq) return;
    setStatus("Kunde inte hämta passen (" + err.message + ").");
  }
}
function countWord(n) { return n === 1 ? "1 pass" : n + " pass"; }
function setStatus(t) { $("nv-walks-status").textContent = t; }

function renderClubs() {
  const select = filterForm.elements.organisation;
  const have = new Set(Array.from(select.options, (o) => o.value));
  [...state.clubs].sort().forEach((name) => {
    if (!have.has(name)) select.appendChild(el("option", { value: name, text: name }));
  });
}

async function loadFlags() {
  try {
    state.flags = await getJSON("/api/v1/walks/flags?days=7");
  } catch (err) {
    $("nv-walks-flags").textContent = "Kunde inte hämta flaggorna (" + err.message + ").";
    return;
  }
  const box = $("nv-walks-flags");
  box.textContent = "";
  const groups = [
    ["short_of_walkers", "Saknar vandrare kommande vecka", (w) => (w.signed_up + (w.guests || 0)) + " av " + w.walkers_needed],
    ["unreported", "Inte återrapporterade två dygn efter passet", () => "ingen rapport"],
  ];
  for (const [key, title, extra] of groups) {
    const walks = state.flags[key] || [];
    const section = el("div", { class: "nv-flag-group nv-flag-" + key }, [el("strong", { text: title + " (" + walks.length + ")" })]);
    walks.forEach((w) => section.appendChild(walkButton(w, extra(w))));
    box.appendChild(section);
  }
  render();
}
function flagged(w, key) { return !!(state.flags && (state.flags[key] || []).some((f) => f.id === w.id)); }

// -- list and calendar --------------------------------------------------------------------------
function walkButton(w, extra) {
  const b = el("button", { type: "button", class: "nv-walk-item nv-status-" + w.status, "data-walk": w.id }, [
    el("span", { class: "nv-walk-item-when", text: dayFormat.format(new Date(w.planned_start)) + " " + timeSpan(w) }),
    el("span", { class: "nv-walk-item-club", text: w.organisation.name }),
    el("span", { class: "nv-walk-item-extra", text: extra }),
  ]);
  if (state.selected === w.id) b.classList.add("nv-active");
  b.addEventListener("click", () => select(w.id));
  return b;
}
function itemExtra(w) {
  const parts = [(w.signed_up + (w.guests || 0)) + "/" + w.walkers_needed + " vandrare", STATUS_SV[w.status] || w.status];
  if (flagged(w, "short_of_walkers")) parts.push("saknar vandrare");
  if (flagged(w, "unreported")) parts.push("ej rapporterad");
  return parts.join(" · ");
}
function render() {
  const list = $("nv-walks-list");
  list.textContent = "";
  if (!state.walks.length) list.appendChild(el("p", { class: "nv-muted", text: "Inga pass i perioden." }));
  const reported = new Set(state.walks.filter((w) => w.status === "reported").map((w) => w.id));
  state.checked.forEach((id) => { if (!reported.has(id)) state.checked.delete(id); });
  state.walks.forEach((w) => {
    const b = walkButton(w, itemExtra(w));
    if (flagged(w, "short_of_walkers") || flagged(w, "unreported")) b.classList.add("nv-flagged");
    const row = el("div", { class: "nv-walk-row" });
    if (reported.has(w.id)) {
      const box = el("input", { type: "checkbox", class: "nv-walk-check", "data-check": w.id, "aria-label": "Markera passet för godkännande" });
      box.checked = state.checked.has(w.id);
      box.addEventListener("change", () => {
        if (box.checked) state.checked.add(w.id); else state.checked.delete(w.id);
        renderBulk(reported.size);
      });
      row.appendChild(box);
    }
    row.appendChild(b);
    list.appendChild(row);
  });
  renderBulk(reported.size);
  renderCalendar();
  list.hidden = state.view !== "list";
  $("nv-walks-calendar").hidden = state.view !== "calendar";
}
function renderCalendar() {
  const box = $("nv-walks-calendar");
  box.textContent = "";
  const r = periodRange(state.period, state.offset);
  const byDay = new Map();
  state.walks.forEach((w) => {
    const k = dayKeyFormat.format(new Date(w.planned_start));
    if (!byDay.has(k)) byDay.set(k, []);
    byDay.get(k).push(w);
  });
  const table = el("table", { class: "nv-calendar" });
  const head = el("tr");
  ["mån", "tis", "ons", "tor", "fre", "lör", "sön"].forEach((d) => head.appendChild(el("th", { text: d })));
  table.appendChild(head);
  const start = new Date(r.since.getFullYear(), r.since.getMonth(), r.since.getDate() - ((r.since.getDay() + 6) % 7));
  for (let d = start; d <= r.until;) {
    const row = el("tr");
    for (let i = 0; i < 7; i += 1) {
      const inside = d >= r.since && d <= r.until;
      const cell = el("td", { class: inside ? "" : "nv-outside" });
      cell.appendChild(el("div", { class: "nv-day", text: String(d.getDate()) + (d.getDate() === 1 ? " " + monthShort(d) : "") }));
      (byDay.get(iso(d)) || []).forEach((w) => {
        const chip = el("button", { type: "button", class: "nv-chip nv-status-" + w.status, "data-walk": w.id,
          text: clockFormat.format(new Date(w.planned_start)) + " " + w.organisation.name });
        if (flagged(w, "short_of_walkers") || flagged(w, "unreported")) chip.classList.add("nv-flagged");
        chip.title = itemExtra(w);
        chip.addEventListener("click", () => select(w.id));
        cell.appendChild(chip);
      });
      row.appendChild(cell);
      d = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1);
    }
    table.appendChild(row);
  }
  box.appendChild(table);
}
// -- approving the checked walks ----------------------------------------------------------------
function renderBulk(reportedCount) {
  $("nv-bulk").hidden = reportedCount === 0 || state.view !== "list";
  const button = $("nv-bulk-approve");
  button.textContent = "Godkänn markerade (" + state.checked.size + ")";
  button.disabled = state.checked.size === 0;
}
// Every reported walk of the period at once (a season's log of earlier walks, for example).
$("nv-check-all").addEventListener("click", () => {
  state.walks.filter((w) => w.status === "reported").forEach((w) => state.checked.add(w.id));
  render();
});
$("nv-bulk-approve").addEventListener("click", async () => {
  const ids = [...state.checked];
  if (!ids.length) return;
  const out = $("nv-bulk-result");
  $("nv-bulk-approve").disabled = true;
  out.className = "nv-bulk-result";
  out.textContent = "Godkänner " + countWord(ids.length) + " …";
  try {
    const { text } = await approveMany(ids);
    out.textContent = text;
    out.classList.add("nv-ok");
    state.checked.clear();
    await load();
    if (state.selected && ids.includes(state.selected)) select(state.selected);
  } catch (err) {
    out.textContent = "Kunde inte godkänna: " + err.message;
    out.classList.add("nv-error");
    renderBulk(1);
  }
});

const monthFormat = new Intl.DateTimeFormat("sv-SE", { month: "short" });
function monthShort(d) { return monthFormat.format(d); }

// -- one walk -----------------------------------------------------------------------------------
async function optional(url) {
  const r = await call("GET", url).catch(() => null);
  return r && r.ok ? r.data : null;
}
function line(parent, label, value, cls = "") {
  if (value === null || value === undefined || value === "") return;
  parent.appendChild(el("div", { class: "nv-detail-line " + cls }, [
    el("strong", { text: label + ": " }), el("span", { text: String(value) }),
  ]));
}

async function select(id) {
  state.selected = id;
  const box = $("nv-walk-detail");
  box.removeAttribute("data-loaded");
  box.textContent = "Hämtar passet …";
  let walk;
  try {
    walk = await getJSON("/api/v1/walks/" + id);
  } catch (err) {
    box.textContent = "Kunde inte hämta passet (" + err.message + ").";
    return;
  }
  const done = walk.reported || ["reported", "approved", "rejected"].includes(walk.status);
  const [report, track, route, figures] = await Promise.all([
    done ? optional("/api/v1/walks/" + id + "/report") : null,
    walk.has_track ? optional("/api/v1/walks/" + id + "/track") : null,
    walk.route ? optional("/api/v1/routes/" + walk.route.id) : null,
    walk.has_track && walk.route ? optional("/api/v1/walks/" + id + "/plan-vs-walked") : null,
  ]);
  if (state.selected !== id) return;
  box.textContent = "";
  box.appendChild(el("h2", { text: walk.organisation.name + ", " + longDate.format(new Date(walk.planned_start)) }));
  line(box, "Status", STATUS_SV[walk.status] || walk.status);
  if (walk.cancel_reason) line(box, "Orsak", walk.cancel_reason);
  line(box, "Planerad tid", timeSpan(walk));
  line(box, "Samlingsplats", walk.meeting_place ? walk.meeting_place.name : "punkt på kartan");
  line(box, "Rutt", walk.route ? walk.route.name : "ingen rutt");
  line(box, "Vandringsledare", walk.leader ? walk.leader.display_name : "ingen utsedd");
  const names = (walk.signups || []).map((s) => s.display_name || "(utan namn)");
  line(box, "Anmälda", (walk.signed_up + (walk.guests || 0)) + " av " + walk.walkers_needed +
    (names.length ? " – " + names.join(", ") : "") + (walk.guests ? " + " + walk.guests + " utan konto" : ""),
    flagged(walk, "short_of_walkers") ? "nv-flag-line" : "");
  if (walk.started_at) line(box, "Startade", dateTime.format(new Date(walk.started_at)));
  if (walk.ended_at) line(box, "Slutade", dateTime.format(new Date(walk.ended_at)));
  if (flagged(walk, "unreported")) box.appendChild(el("div", { class: "nv-flag-line", text: "Inte återrapporterad två dygn efter passet." }));

  const rep = el("section", { class: "nv-walk-report-view" }, [el("h3", { text: "Återrapport" })]);
  if (report) {
    line(rep, "Tid", dateTime.format(new Date(report.started_at)) + " – " + clockFormat.format(new Date(report.ended_at)));
    line(rep, "Vandrare på plats", report.walkers_present + " av " + report.walkers_needed +
      (report.short_of_walkers ? " (färre än behövs)" : ""), report.short_of_walkers ? "nv-flag-line" : "");
    line(rep, "Ungdomar mötta", report.youths_met);
    line(rep, "Stämning", MOOD_SV[report.mood] || report.mood);
    line(rep, "Kontakt med", (report.contacts || []).map((c) => CONTACTS_SV[c] || c).join(", ") || "ingen");
    if (report.summary) rep.appendChild(el("p", { class: "nv-description", text: report.summary }));
    if (report.synthetic) rep.appendChild(el("div", { class: "nv-muted", text: "Syntetisk demodata" }));
  } else {
    rep.appendChild(el("p", { class: "nv-muted", text: "Ingen återrapport ännu." }));
  }
  box.appendChild(rep);
  if (["reported", "approved", "rejected"].includes(walk.status)) {
    box.appendChild(decisionSection(walk, (now) => {
      state.walks = state.walks.map((w) => (w.id === now.id ? now : w));
      render();
    }));
  }

  const fig = el("section", { class: "nv-walk-figures" }, [el("h3", { text: "Plan och genomfört" })]);
  if (track && track.geometry) line(fig, "Spår", track.properties.points + " punkter, " + kmText(track.properties.length_m));
  if (figures) {
    line(fig, "Gången sträcka", kmText(figures.length_walked_m), "nv-fig-length");
    if (figures.route_share_within_50m !== null && figures.route_share_within_50m !== undefined) {
      line(fig, "Andel av rutten inom 50 m från spåret", pct.format(figures.route_share_within_50m), "nv-fig-share");
    }
    if (figures.stops && figures.stops.length) {
      const passed = figures.stops.filter((s) => s.passed).length;
      line(fig, "Stopp passerade", passed + " av " + figures.stops.length);
      const ul = el("ul", { class: "nv-stops" });
      figures.stops.forEach((s) => ul.appendChild(el("li", { class: s.passed ? "nv-passed" : "nv-missed",
        text: (s.passed ? "✓ " : "✗ ") + s.name })));
      fig.appendChild(ul);
    }
  } else if (!walk.has_track) {
    fig.appendChild(el("p", { class: "nv-muted", text: "Inget spår inspelat." }));
  }
  box.appendChild(fig);
  drawWalk(walk, route, track);
  box.setAttribute("data-loaded", id);
  document.querySelectorAll("[data-walk]").forEach((b) => b.classList.toggle("nv-active", b.getAttribute("data-walk") === id));
}

function drawWalk(walk, route, track) {
  walkLayer.clearLayers();
  if (route && route.geometry) {
    L.geoJSON(route, { style: () => ({ color: "#0057b8", weight: 5, opacity: 0.7, dashArray: "8 6", className: "nv-planned-route" }) })
      // An element, not a string: Leaflet puts a string tooltip in as HTML, and the name is user text.
      .bindTooltip(el("span", { text: "Planerad rutt: " + walk.route.name })).addTo(walkLayer);
  }
  if (track && track.geometry) {
    L.geoJSON(track, { style: () => ({ color: "#d7301f", weight: 4, opacity: 0.9, className: "nv-walked-track" }) })
      .bindTooltip("Gången väg").addTo(walkLayer);
  }
  if (walk.meeting_point) {
    const c = walk.meeting_point.coordinates;
    L.circleMarker([c[1], c[0]], { radius: 8, color: "#fff", weight: 2, fillColor: "#b30000", fillOpacity: 1, className: "nv-meeting" })
      .bindTooltip("Samling " + clockFormat.format(new Date(walk.planned_start))).addTo(walkLayer);
  }
  if (walkLayer.getLayers().length) map.fitBounds(walkLayer.getBounds().pad(0.15), { maxZoom: 17 });
}

// -- wiring -------------------------------------------------------------------------------------
document.querySelectorAll("[data-period]").forEach((b) => b.addEventListener("click", () => {
  state.period = b.getAttribute("data-period");
  state.offset = 0;
  document.querySelectorAll("[data-period]").forEach((o) => o.classList.toggle("nv-active", o === b));
  load();
}));
document.querySelectorAll("[data-shift]").forEach((b) => b.addEventListener("click", () => {
  state.offset += Number(b.getAttribute("data-shift"));
  load();
}));
document.querySelectorAll("[data-view]").forEach((b) => b.addEventListener("click", () => {
  state.view = b.getAttribute("data-view");
  document.querySelectorAll("[data-view]").forEach((o) => o.classList.toggle("nv-active", o === b));
  render();
}));
filterForm.addEventListener("change", load);
filterForm.addEventListener("submit", (e) => e.preventDefault());
window.addEventListener("error", (e) => toast("Fel på sidan: " + e.message, "nv-error"));

load();
loadFlags();
window.nattvandring = { map, select, load, state };
