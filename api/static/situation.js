/* nattvandring: the situation map (lägesbild) for walkers and planners.
 *
 * Draws the districts, zones and places (fetched from the API by map.js), recent deviations,
 * tonight's route and the user's own position, and lets a signed-in walker report a deviation in
 * at most three taps. A report waits on the device (queue.js) until the server has stored it.
 *
 * Every text that comes from a report is put on the page with textContent, never as HTML.
 * No inline script: the page's Content-Security-Policy allows only scripts from this server.
 */
import { call, errorText } from "./js/api.js";
import { addBaseLayers, addOverlay, conditionalGetter, createMap, shows } from "./js/map.js";
import { dequeue, enqueue, flush, newReport, queueKey, readQueue } from "./js/queue.js";
import { $, el, lazyFormat, pageConfig, timeFormat, toast } from "./js/ui.js";
// walk.js and analysis.js are imported after the first markers are drawn (see "start").

const L = window.L;
const config = pageConfig();
// The base map's tiles once the first markers are drawn (see "firstPaint").
const { map, layers: layerControl, tiles } = createMap(config, "map", { addTiles: false });
const QUEUE_KEY = queueKey(config.user.id);
const categories = {};
config.categories.forEach((c) => { categories[c.code] = c; });

const state = {
  days: config.default_days,
  category: "",
  reportOpen: false,
  position: null,      // {lat, lon, accuracy_m, source: "gps" | "map"}
  gps: null,           // last GPS fix
  severity: 2,
  flushing: false,
};

const SEVERITY_SV = { 1: "Låg", 2: "Medel", 3: "Hög" };
/** A GPS fix less accurate than this is not taken as the report's place: the walker taps it. */
const MAX_GPS_ACCURACY_M = 100;
const UNDO_MS = 10000;
const WITHDRAW_MS = 10 * 60000;  // the server's window (geo.db.deviations.WITHDRAW_WITHIN)

const clock = lazyFormat({ timeZone: "Europe/Stockholm", hour: "2-digit", minute: "2-digit" });
const dayClock = lazyFormat({
  timeZone: "Europe/Stockholm", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});
/** "21:05" today, "1 dec. 21:05" on another day. */
function whenText(date) {
  const today = new Date().toDateString() === date.toDateString();
  return (today ? clock : dayClock).format(date);
}
function countWord(n) { return n === 1 ? "1 avvikelse" : n + " avvikelser"; }

function popupFor(props, pending) {
  const box = el("div", { class: "nv-popup" });
  const cat = categories[props.category];
  box.appendChild(el("strong", { text: cat ? cat.name_sv : props.category }));
  box.appendChild(el("div", { text: timeFormat.format(new Date(props.observed_at)) }));
  box.appendChild(el("div", { text: "Allvarlighet: " + (SEVERITY_SV[props.severity] || props.severity) }));
  if (pending) box.appendChild(el("div", { class: "nv-pending-label", text: "väntar på nätet" }));
  if (props.description) box.appendChild(el("p", { class: "nv-description", text: props.description }));
  if (props.synthetic) box.appendChild(el("div", { class: "nv-muted", text: "Syntetisk demodata" }));
  return box;
}

// -- layers -----------------------------------------------------------------------------------
const deviationLayer = L.featureGroup();
const pendingLayer = L.featureGroup().addTo(map);
const positionLayer = L.featureGroup().addTo(map);
const routeLayer = L.featureGroup();
// Their entries in the layer control come once the first markers are painted (each entry
// rebuilds the control's list).
const overlays = [];
if (shows(config, "deviations")) {
  deviationLayer.addTo(map);
  overlays.push(() => addOverlay(layerControl, config, "deviations", deviationLayer, "Avvikelser"));
}
overlays.push(() => layerControl.addOverlay(pendingLayer, "Väntande rapporter"));
if (shows(config, "routes") && config.routes && config.routes.features.length) {
  L.geoJSON(config.routes, {
    style: () => ({ color: "#0057b8", weight: 5, opacity: 0.85, className: "nv-route" }),
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layer.bindPopup(() => el("div", { class: "nv-popup" }, [  // built when it opens
        el("strong", { text: "Kvällens rutt: " + p.name }),
        el("div", { text: (p.organisation || "") + " · " + timeFormat.format(new Date(p.planned_start)) }),
      ]));
    },
  }).addTo(routeLayer);
  routeLayer.addTo(map);
  overlays.push(() => addOverlay(layerControl, config, "routes", routeLayer, "Kvällens rutt"));
}

function marker(feature, pending) {
  const p = feature.properties;
  const c = feature.geometry.coordinates;
  const cat = categories[p.category];
  const m = L.circleMarker([c[1], c[0]], {
    radius: 4 + 2 * (p.severity || 1),
    color: pending ? "#333333" : "#202020",
    weight: pending ? 2 : 1,
    dashArray: pending ? "3 3" : null,
    fillColor: cat ? cat.colour : "#666666",
    fillOpacity: pending ? 0.5 : 0.9,
    className: pending ? "nv-deviation nv-pending" : "nv-deviation",
  });
  m.bindPopup(() => popupFor(p, pending));  // built when it opens, not for every marker
  m.on("popupopen", () => {
    // While reporting, a tap on an existing report places the new one there instead.
    if (state.reportOpen) { m.closePopup(); setPosition(placeOf(m.getLatLng())); }
  });
  m.feature = feature;
  return m;
}

// -- loading deviations -----------------------------------------------------------------------
/* The map polls the list every POLL_MS while the page is visible, with the last answer's ETag
 * (conditionalGetter): an unchanged list is a 304 without a body and the map keeps what it
 * shows. The period starts on a whole hour, so that the same filters make the same URL for an
 * hour (the window is at most an hour longer than its label). */
const POLL_MS = 15000;
const OFFLINE_POLL_MS = 5000;  // while the answers come from the cache (or none come)
const HOUR_MS = 3600000;
const getDeviations = conditionalGetter();
// Signing out ("Logga ut": POST /logout) leads to the sign-in page by itself: a list asked for
// on the way answers 401 and must not send the page elsewhere.
let leaving = false;
window.addEventListener("beforeunload", () => { leaving = true; });
let loadSeq = 0;
let pollTimer = null;
function schedulePoll(delayMs) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(() => {
    if (document.visibilityState === "hidden") schedulePoll(POLL_MS);
    else loadDeviations({ poll: true });
  }, delayMs);
}
async function loadDeviations({ poll = false } = {}) {
  if (!shows(config, "deviations")) return;
  const seq = ++loadSeq;
  const start = Math.floor((Date.now() - state.days * 86400000) / HOUR_MS) * HOUR_MS;
  const since = new Date(start).toISOString();
  const b = map.getBounds().pad(0.5);
  const params = new URLSearchParams({
    since,
    bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map((v) => Math.max(-180, Math.min(180, v)).toFixed(5)).join(","),
    limit: "5000",
  });
  if (state.category) params.append("category", state.category);
  if (!poll) setStatus("Hämtar avvikelser …");
  let nextMs = POLL_MS;
  // The page's own first query while it holds this one (its box and period): polled with the
  // ETag the page came with, an unchanged list is a 304 from the first poll on.
  const url = firstList && !state.category && firstCovers(start, b)
    ? firstList.url : "/api/v1/deviations?" + params.toString();
  // The service worker answers from its cache only after the network has had its chance; on
  // opening, the map shows the copy it kept at once (saying how old it is) meanwhile.
  let answered = false;
  if (seq === 1 && window.caches) {
    caches.match(new URL(url, window.location.href).href).then(async (hit) => {
      if (!hit || answered || seq !== loadSeq) return;
      const at = hit.headers.get("X-Nv-Fetched-At");
      // Not older than what is shown (the list the page came with).
      if (at && shown.fetchedAt && new Date(at) <= shown.fetchedAt) return;
      const fc = await hit.json();
      if (answered || seq !== loadSeq) return;
      draw(fc, { start, bounds: b, fetchedAt: at ? new Date(at) : null, state: "cached" });
    }).catch(() => { /* no copy: wait for the network */ });
  }
  try {
    const r = await getDeviations(url);
    answered = true;
    if (r.status === 401) { if (!leaving) window.location.href = "/login?next=/"; return; }
    if (r.retryAfter) nextMs = Math.max(POLL_MS, r.retryAfter * 1000);
    if (!r.ok) throw new Error(errorText(r.data, r.status));
    if (seq !== loadSeq) return;
    document.body.setAttribute("data-deviations-fresh", String(r.fresh));
    if (r.fromCache) nextMs = OFFLINE_POLL_MS;  // try the network again soon
    if (!r.fresh && poll) {  // unchanged: keep the markers (and any open popup)
      shown.fetchedAt = r.fetchedAt;
      shown.offline = false;
      shown.cached = false;
      showCount();
      return;
    }
    draw(r.data, { start, bounds: b, fetchedAt: r.fetchedAt, state: r.fromCache ? "offline" : "live" });
  } catch (err) {
    answered = true;
    if (seq !== loadSeq) return;
    nextMs = OFFLINE_POLL_MS;
    document.body.setAttribute("data-deviations-error", offlineText(err));
    if (shown.fetchedAt) { shown.offline = true; shown.cached = false; showCount(); }
    else setStatus("Kunde inte hämta avvikelser just nu (" + offlineText(err) + ").");
  } finally {
    if (seq === loadSeq) schedulePoll(nextMs);
  }
}
/* Draw a list: ``state`` "live" (the server's now), "offline" (the service worker's copy, the
 * network failing) or "cached" (the copy, shown while the network is asked). The service worker
 * may answer from a wider query it has cached (a longer period, all categories, a larger box):
 * the page keeps what its own filters select. */
function draw(fc, { start, bounds: b, fetchedAt, state: kind, after = null }) {
  const inBox = (c) => c[0] >= b.getWest() && c[0] <= b.getEast() && c[1] >= b.getSouth() && c[1] <= b.getNorth();
  const features = fc.features.filter((f) =>
    Date.parse(f.properties.observed_at) >= start &&
    (!state.category || f.properties.category === state.category) &&
    inBox(f.geometry.coordinates));
  deviationLayer.clearLayers();
  features.forEach((f) => deviationLayer.addLayer(marker(f, false)));
  shown.count = features.length;
  shown.days = state.days;
  shown.fetchedAt = fetchedAt;
  shown.offline = kind === "offline";
  shown.cached = kind === "cached";
  shown.more = kind === "live" && fc.numberMatched > fc.numberReturned
    ? " (de " + fc.numberReturned + " senaste av " + fc.numberMatched + ")" : "";
  // The status line and the list (text with times) after ``after`` (the first paint), if given.
  const describe = () => {
    showCount();
    document.body.setAttribute("data-deviations", String(shown.count));
    renderList();
    drawn();
  };
  if (after) after.then(describe);
  else describe();
}

// -- the list the page came with ------------------------------------------------------------------
/* The server puts the first list (the default period from the start of its hour, in a box
 * around the first area) in the page as a JSON data block, with its query's URL and ETag: the
 * markers are drawn before any request, and the page polls that URL while its view lies
 * inside its box. A page that came from the service worker's cache (a warm visit, offline,
 * lie-fi: the worker marks it, `fromWorkerCache`), or older than FIRST_LIST_FRESH_MS, shows
 * its list as such until the network answers. */
const FIRST_LIST_FRESH_MS = 60000;
/* Whether this page is the service worker's copy: sw.js marks it in the navigation's
 * Server-Timing ("nv-cache"). */
function fromWorkerCache() {
  const nav = performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
  return Boolean(nav && nav.serverTiming && nav.serverTiming.some((t) => t.name === "nv-cache"));
}
const firstList = readFirstList();
function readFirstList() {
  const block = $("nv-deviations");
  if (!config.first_list || !block) return null;
  try {
    const u = new URL(config.first_list.url, window.location.href);
    const box = (u.searchParams.get("bbox") || "").split(",").map(Number);
    return { ...config.first_list, data: JSON.parse(block.textContent),
             since: Date.parse(u.searchParams.get("since")), box };
  } catch (err) {
    return null;
  }
}
function firstCovers(start, b) {
  const [w, s, e, n] = firstList.box;
  return firstList.since <= start && w <= b.getWest() && s <= b.getSouth() &&
    e >= b.getEast() && n >= b.getNorth();
}
/* Hand the list to the service worker, which keeps it for a night without network under its
 * URL (a 304 gives it nothing to keep). */
function keepFirstList() {
  const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (!firstList || !worker) return;
  worker.postMessage({ type: "nv-keep-list", url: new URL(firstList.url, window.location.href).href,
                       body: JSON.stringify(firstList.data), fetchedAt: firstList.fetched_at });
}
let drawn;
const firstDrawn = new Promise((resolve) => { drawn = resolve; });
function labelDays(d) { return d === 1 ? "24 h" : d + " dygn"; }
/* What the map shows and when it was fetched: the status line always says how old it is. */
const shown = { count: null, days: null, more: "", fetchedAt: null, offline: false, cached: false };
function showCount() {
  if (shown.count === null) return;
  // The period of what is shown, which a failed request for another filter has not changed.
  const what = countWord(shown.count) + " senaste " + labelDays(shown.days) + shown.more;
  const when = shown.fetchedAt ? whenText(shown.fetchedAt) : "";
  if (shown.offline) setStatus("offline – senast uppdaterad " + when + " · " + what);
  else if (shown.cached) setStatus("senast uppdaterad " + when + " · " + what + " · hämtar nytt …");
  else setStatus(what + " · uppdaterad " + when);
  document.body.setAttribute("data-deviations-offline", String(shown.offline));
}
/* A failed request's reason in Swedish: the browser's own ("Failed to fetch") is English. */
function offlineText(err) {
  return err instanceof TypeError ? "ingen kontakt med servern" : err.message;
}

function reload() { loadDeviations(); }
function setStatus(text) { $("nv-status").textContent = text; }

/* The list the page came with, drawn before anything else is built; the rest of the page
 * (its status line, list, filters, base layers, the worker, the queue) follows once the
 * markers are painted (`firstPaint`). */
const firstShown = Boolean(firstList && shows(config, "deviations"));
/* Resolves once the browser has painted what the page holds now (a frame, then a task), or
 * after 100 ms (a hidden page paints no frames). */
const firstPaint = new Promise((resolve) => {
  requestAnimationFrame(() => setTimeout(resolve, 0));
  setTimeout(resolve, 100);
});
if (firstShown) {
  const start = Math.floor((Date.now() - state.days * 86400000) / HOUR_MS) * HOUR_MS;
  const fetchedAt = new Date(firstList.fetched_at);
  const cachedPage = fromWorkerCache();
  document.body.setAttribute("data-page-from-cache", String(cachedPage));
  const fresh = !cachedPage && Date.now() - fetchedAt.getTime() < FIRST_LIST_FRESH_MS;
  draw(firstList.data, { start, bounds: map.getBounds().pad(0.5), fetchedAt,
                         state: fresh ? "live" : "cached", after: firstPaint });
  getDeviations.seed(firstList.url, firstList.etag, firstList.data);
  keepFirstList();
  loadDeviations({ poll: true });
  await firstPaint;
}
if (tiles) tiles.addTo(map);
overlays.forEach((add) => add());

// -- filters ------------------------------------------------------------------------------------
const dayButtons = document.querySelectorAll("[data-days]");
dayButtons.forEach((btn) => {
  btn.addEventListener("click", () => {
    state.days = Number(btn.getAttribute("data-days"));
    dayButtons.forEach((b) => b.classList.toggle("nv-active", b === btn));
    reload();
  });
});
const categorySelect = $("nv-category");
config.categories.forEach((c) => categorySelect.appendChild(el("option", { value: c.code, text: c.name_sv })));
categorySelect.addEventListener("change", () => {
  state.category = categorySelect.value;
  reload();
});
let moveTimer = null;
map.on("moveend", () => {
  clearTimeout(moveTimer);
  moveTimer = setTimeout(loadDeviations, 300);
});

// -- own position -------------------------------------------------------------------------------
let gpsMarker = null, gpsCircle = null, watchId = null, centreOnFix = false;
function goodFix(fix) { return fix && fix.accuracy_m <= MAX_GPS_ACCURACY_M; }
function startGps() {
  if (!("geolocation" in navigator) || watchId !== null) return;
  watchId = navigator.geolocation.watchPosition((pos) => {
    const fix = { lat: pos.coords.latitude, lon: pos.coords.longitude,
                  accuracy_m: Math.round(pos.coords.accuracy), source: "gps" };
    state.gps = fix;
    const ll = [fix.lat, fix.lon];
    if (!gpsMarker) {
      gpsCircle = L.circle(ll, { radius: fix.accuracy_m, weight: 1, color: "#1a73e8", fillOpacity: 0.1 }).addTo(positionLayer);
      gpsMarker = L.circleMarker(ll, { radius: 7, color: "#ffffff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1, className: "nv-me" }).addTo(positionLayer);
    } else {
      gpsMarker.setLatLng(ll); gpsCircle.setLatLng(ll); gpsCircle.setRadius(fix.accuracy_m);
    }
    if (centreOnFix) { centreOnFix = false; map.setView(ll, Math.max(map.getZoom(), 16)); }
    if (state.reportOpen && (!state.position || state.position.source === "gps")) {
      if (goodFix(fix)) setPosition(fix); else { clearPosition(); renderPosition(); }
    }
  }, () => {
    state.gps = null;
    if (state.reportOpen && !state.position) renderPosition();
  }, { enableHighAccuracy: true, maximumAge: 15000, timeout: 20000 });
}
$("nv-locate").addEventListener("click", () => {
  // The first tap centres too: on the fix that comes, if there is none yet.
  if (state.gps) map.setView([state.gps.lat, state.gps.lon], Math.max(map.getZoom(), 16));
  else centreOnFix = true;
  startGps();
});

// -- reporting ------------------------------------------------------------------------------------
const sheet = $("nv-report");
let pickMarker = null;

function setPosition(pos) {
  state.position = pos;
  const ll = [pos.lat, pos.lon];
  if (!pickMarker) {
    pickMarker = L.marker(ll, { title: "Avvikelsens plats", keyboard: false }).addTo(positionLayer);
  } else {
    pickMarker.setLatLng(ll);
  }
  renderPosition();
}

function clearPosition() {
  state.position = null;
  if (pickMarker) { positionLayer.removeLayer(pickMarker); pickMarker = null; }
}

function renderPosition() {
  const line = $("nv-report-position");
  if (!state.position && state.gps && !goodFix(state.gps)) {
    line.textContent = "GPS-positionen är osäker (±" + state.gps.accuracy_m +
      " m). Tryck på kartan där det hände.";
  } else if (!state.position) {
    line.textContent = "Tryck på kartan där det hände" + ("geolocation" in navigator ? " (eller vänta på GPS)" : "");
  } else if (state.position.source === "gps") {
    line.textContent = "Plats: din GPS-position, ±" + state.position.accuracy_m + " m. Tryck på kartan för att ändra.";
  } else {
    line.textContent = "Plats: vald på kartan. Tryck igen för att flytta.";
  }
  sheet.querySelectorAll("[data-category]").forEach((b) => { b.disabled = !state.position; });
}

let openedFrom = null;
function openReport() {
  state.reportOpen = true;
  state.position = null;
  openedFrom = document.activeElement;
  sheet.hidden = false;
  document.body.classList.add("nv-reporting");
  $("nv-report-error").textContent = "";
  startGps();
  if (goodFix(state.gps)) setPosition(state.gps); else renderPosition();
  sheet.focus();  // the sheet takes focus (tabindex -1): a screen reader reads its title
}
function closeReport() {
  const wasOpen = state.reportOpen;
  state.reportOpen = false;
  sheet.hidden = true;
  document.body.classList.remove("nv-reporting");
  clearPosition();
  $("nv-note").value = "";
  if (wasOpen && openedFrom && document.contains(openedFrom)) openedFrom.focus();
}
if ($("nv-report-open")) $("nv-report-open").addEventListener("click", openReport);
$("nv-report-cancel").addEventListener("click", closeReport);
sheet.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); closeReport(); } });
// Without a pointer (a keyboard, a screen reader): the place is the map's centre (the arrow
// keys move the map when it has focus).
$("nv-report-centre").addEventListener("click", () => setPosition(placeOf(map.getCenter())));
function placeOf(latlng) { return { lat: latlng.lat, lon: latlng.lng, accuracy_m: null, source: "map" }; }
map.on("click", (e) => { if (state.reportOpen) setPosition(placeOf(e.latlng)); });
sheet.querySelectorAll("[data-severity]").forEach((b) => {
  b.addEventListener("click", () => {
    state.severity = Number(b.getAttribute("data-severity"));
    sheet.querySelectorAll("[data-severity]").forEach((o) => o.classList.toggle("nv-active", o === b));
  });
});
const grid = $("nv-report-categories");
config.categories.forEach((c) => {
  const swatch = el("span", { class: "nv-swatch" });
  swatch.style.background = c.colour;  // CSSOM, not a style attribute (CSP)
  const b = el("button", { type: "button", "data-category": c.code, class: "nv-cat" }, [
    swatch, el("span", { text: c.name_sv }),
  ]);
  b.addEventListener("click", () => submitReport(c.code));
  grid.appendChild(b);
});

function submitReport(category) {
  if (!state.position) return;
  const pos = state.position;
  const feature = newReport({
    lon: pos.lon, lat: pos.lat, category, severity: state.severity, note: $("nv-note").value,
    accuracyM: pos.source === "gps" ? pos.accuracy_m : null,
    walkId: walkTonight ? walkTonight.currentWalkId() : null,
  });
  enqueue(localStorage, QUEUE_KEY, feature);
  closeReport();
  renderPending();
  offerUndo(feature.properties.id);
  flushQueue();
}

// -- "Ångra": a sent report can be withdrawn for UNDO_MS ----------------------------------------
const undone = new Set();  // ids withdrawn here: a send that was already under way withdraws too
let undoTimer = null;
function offerUndo(id) {
  const bar = $("nv-undo");
  bar.hidden = false;
  bar.setAttribute("data-id", id);
  clearTimeout(undoTimer);
  undoTimer = setTimeout(() => { bar.hidden = true; }, UNDO_MS);
}
$("nv-undo-button").addEventListener("click", () => {
  const bar = $("nv-undo");
  bar.hidden = true;
  clearTimeout(undoTimer);
  withdraw(bar.getAttribute("data-id"));
});

/* Withdraw a report: still on the phone, it just leaves the queue; stored, the server deletes
 * it (DELETE, within 10 minutes) and keeps its id, so that a resend stores nothing. */
async function withdraw(id) {
  undone.add(id);
  if (readQueue(localStorage, QUEUE_KEY).some((i) => i.feature.properties.id === id)) {
    dequeue(localStorage, QUEUE_KEY, id);
    renderPending();
    if (!state.flushing) { toast("Rapporten är ångrad.", "nv-ok"); return; }
  }
  try {
    const r = await call("DELETE", "/api/v1/deviations/" + encodeURIComponent(id));
    if (r.status === 204 || r.status === 410) {
      removeMarker(id);
      toast("Rapporten är ångrad.", "nv-ok");
    } else if (r.status !== 404 || !state.flushing) {
      toast("Rapporten kunde inte ångras: " + errorText(r.data, r.status), "nv-error");
    }
  } catch (err) {
    toast("Rapporten kunde inte ångras: ingen kontakt med servern.", "nv-error");
  }
  loadMine();
}
function removeMarker(id) {
  deviationLayer.eachLayer((m) => { if (m.feature.properties.id === id) deviationLayer.removeLayer(m); });
  document.body.setAttribute("data-withdrawn", id);
}

// -- the queue of reports waiting for the network -------------------------------------------------
function renderPending() {
  const q = readQueue(localStorage, QUEUE_KEY);
  pendingLayer.clearLayers();
  q.forEach((item) => pendingLayer.addLayer(marker(item.feature, true)));
  const badge = $("nv-pending");
  badge.hidden = q.length === 0;
  badge.textContent = q.length === 1 ? "1 rapport väntar på nätet" : q.length + " rapporter väntar på nätet";
  document.body.setAttribute("data-pending", String(q.length));
}

async function flushQueue() {
  // The browser knows it has no network: wait for its "online" event instead of trying.
  if (state.flushing) return;
  state.flushing = true;
  try {
    await flush(localStorage, QUEUE_KEY, send, { online: navigator.onLine });
  } finally {
    state.flushing = false;
    renderPending();
  }
}

/* Why the server refused a report, in Swedish for the mistakes a walker can make (by the error's
 * code: the 422 item's "type"); the shared texts of api.js otherwise. */
const REFUSED_SV = {
  lonlat_swapped: "koordinaterna verkar omkastade (longitud och latitud).",
  far_from_areas: "positionen ligger mer än 2 km från alla områden. Kontrollera positionen.",
  time_in_future: "tiden ligger i framtiden. Kontrollera att telefonens klocka går rätt.",
  time_too_old: "rapporten är äldre än 30 dygn och kan inte längre tas emot.",
  unknown_category: "kategorin finns inte längre. Välj en annan.",
  too_long: "anteckningen är för lång (högst 2 000 tecken).",
};
function reportErrorText(body, status) {
  const d = body && body.detail;
  const type = Array.isArray(d) && d.length ? d[0].type : null;
  return (status === 422 && REFUSED_SV[type]) || errorText(body, status);
}

/* One report to the server: "stored", "refused" (never to be taken: said why, dropped), or a
 * rejection when it should wait (no network, 401, 5xx, 408, 429). */
async function send(feature) {
  const r = await call("POST", "/api/v1/deviations", { json: feature });
  const id = feature.properties.id;
  if (r.status === 200 || r.status === 201) {
    if (undone.has(id)) { withdraw(id); return "stored"; }  // "Ångra" came while it was on its way
    deviationLayer.addLayer(marker(r.data, false));
    toast("Avvikelsen är sparad.", "nv-ok");
    loadMine();
    return "stored";
  }
  if (r.status === 410) return "refused";  // withdrawn (here or in another tab): never stored again
  if (r.status === 401) {
    toast("Logga in igen för att skicka väntande rapporter.", "nv-error");
    throw new Error("unauthorised");
  }
  if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) {
    toast("Rapporten kunde inte sparas: " + reportErrorText(r.data, r.status), "nv-error");
    return "refused";
  }
  throw new Error("server " + r.status);
}

// The network is back: send what waits and show what is new at once, not at the next poll.
window.addEventListener("online", () => { flushQueue(); reload(); });
setInterval(flushQueue, 20000);

// -- my reports of the last 24 hours, and the list of the reports shown -------------------------
const mine = $("nv-mine");
let mineStale = false;  // a new list came while a correction form was open
async function loadMine(refocus = null) {
  if (!mine) return;
  // Not under the walker's thumb: the open form stays; the list follows when it closes.
  if (!refocus && mine.querySelector("form.nv-correct")) { mineStale = true; return; }
  let r;
  try { r = await call("GET", "/api/v1/me/deviations"); } catch (err) { return; }
  if (!r.ok) return;
  const list = mine.querySelector(".nv-mine-list");
  list.replaceChildren();
  const features = r.data.features;
  mine.querySelector("summary").textContent = "Mina rapporter från det senaste dygnet (" + features.length + ")";
  if (!features.length) list.appendChild(el("p", { class: "nv-muted", text: "Inga rapporter." }));
  for (const f of features) {
    const p = f.properties;
    const cat = categories[p.category];
    const item = el("li", { "data-id": p.id }, [
      el("strong", { text: cat ? cat.name_sv : p.category }),
      el("span", { text: " · " + timeFormat.format(new Date(p.observed_at)) + " · " + (SEVERITY_SV[p.severity] || "") }),
    ]);
    if (p.description) item.appendChild(el("div", { class: "nv-description", text: p.description }));
    if (Date.now() - Date.parse(p.reported_at) < WITHDRAW_MS) {
      const b = el("button", { type: "button", class: "nv-withdraw", text: "Ta bort" });
      b.addEventListener("click", () => withdraw(p.id));
      item.appendChild(b);
    }
    // A planner's confirmed or dismissed report is theirs now (the server says so too).
    if (!p.status || p.status === "new") {
      const b = el("button", { type: "button", class: "nv-withdraw nv-correct-open", text: "Rätta",
        "aria-expanded": "false" });
      b.addEventListener("click", () => toggleCorrection(item, f, b));
      item.appendChild(b);
    }
    list.appendChild(item);
  }
  document.body.setAttribute("data-mine", String(features.length));
  if (refocus) {
    const again = list.querySelector("li[data-id='" + CSS.escape(refocus) + "'] .nv-correct-open");
    if (again) again.focus();
  }
}

/* "Rätta": a form under the report with its category, severity and note; only what changed is
 * sent (PATCH /api/v1/me/deviations/{id}). Esc or "Avbryt" closes it and focus goes back. */
function toggleCorrection(item, feature, opener) {
  const open = item.querySelector("form.nv-correct");
  if (open) { open.remove(); opener.setAttribute("aria-expanded", "false"); opener.focus(); return; }
  const p = feature.properties;
  const close = () => {
    form.remove();
    opener.setAttribute("aria-expanded", "false");
    opener.focus();
    if (mineStale) { mineStale = false; loadMine(p.id); }
  };
  const category = el("select", { name: "category", id: "nv-correct-category-" + p.id });
  for (const c of config.categories) {
    const o = el("option", { value: c.code, text: c.name_sv });
    if (c.code === p.category) o.selected = true;
    category.appendChild(o);
  }
  const severity = el("select", { name: "severity", id: "nv-correct-severity-" + p.id });
  for (const n of [1, 2, 3]) {
    const o = el("option", { value: String(n), text: SEVERITY_SV[n] });
    if (n === p.severity) o.selected = true;
    severity.appendChild(o);
  }
  const note = el("textarea", { name: "description", id: "nv-correct-note-" + p.id, maxlength: "2000", rows: "2" });
  note.value = p.description || "";
  const error = el("p", { class: "nv-correct-error", role: "alert" });
  const cancel = el("button", { type: "button", text: "Avbryt" });
  cancel.addEventListener("click", close);
  const form = el("form", { class: "nv-correct", "aria-label": "Rätta rapporten" }, [
    el("label", { for: category.id, text: "Kategori" }), category,
    el("label", { for: severity.id, text: "Allvarlighet" }), severity,
    el("label", { for: note.id, text: "Anteckning" }), note,
    el("div", { class: "nv-correct-actions" }, [
      el("button", { type: "submit", class: "nv-primary", text: "Spara rättelsen" }), cancel,
    ]),
    error,
  ]);
  form.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); close(); } });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const change = {};
    if (category.value !== p.category) change.category = category.value;
    if (Number(severity.value) !== p.severity) change.severity = Number(severity.value);
    const text = note.value.trim();
    if (text !== (p.description || "")) change.description = text || null;
    if (!Object.keys(change).length) { close(); return; }
    error.textContent = "";
    let r;
    try {
      r = await call("PATCH", "/api/v1/me/deviations/" + encodeURIComponent(p.id), { json: change });
    } catch (err) {
      error.textContent = "Ingen kontakt med servern: försök igen när nätet är tillbaka.";
      return;
    }
    if (!r.ok) { error.textContent = "Rättelsen sparades inte: " + errorText(r.data, r.status); return; }
    deviationLayer.eachLayer((m) => { if (m.feature.properties.id === p.id) deviationLayer.removeLayer(m); });
    deviationLayer.addLayer(marker(r.data, false));
    renderList();
    toast("Rapporten är rättad.", "nv-ok");
    document.body.setAttribute("data-corrected", p.id);
    loadMine(p.id);
  });
  opener.setAttribute("aria-expanded", "true");
  opener.after(form);
  category.focus();
}

/* The reports shown, newest first, with the distance from me: the reports without the map
 * (a screen reader, a keyboard). */
function renderList() {
  const box = $("nv-list");
  if (!box) return;
  const items = [];
  deviationLayer.eachLayer((m) => items.push(m));
  items.sort((a, b) => Date.parse(b.feature.properties.observed_at) - Date.parse(a.feature.properties.observed_at));
  const list = box.querySelector("ol");
  list.replaceChildren();
  for (const m of items.slice(0, 100)) {
    const p = m.feature.properties;
    const cat = categories[p.category];
    let where = "";
    if (state.gps) {
      const d = map.distance(m.getLatLng(), [state.gps.lat, state.gps.lon]);
      where = " · " + (d < 1000 ? Math.round(d) + " m bort" : (d / 1000).toFixed(1).replace(".", ",") + " km bort");
    }
    list.appendChild(el("li", {}, [
      el("strong", { text: cat ? cat.name_sv : p.category }),
      el("span", { text: " · " + timeFormat.format(new Date(p.observed_at)) + " · " + (SEVERITY_SV[p.severity] || "") + where }),
    ]));
  }
  box.querySelector("summary").textContent = "Lista över " + countWord(items.length);
}

// -- the categories' legend, and the night theme ------------------------------------------------
config.categories.forEach((c) => {
  const swatch = el("span", { class: "nv-swatch" });
  swatch.style.background = c.colour;
  $("nv-legend-cats").appendChild(el("li", {}, [swatch, el("span", { text: c.name_sv })]));
});
/* Dark or light as the walker chooses (the system's choice until then). The choice goes into a
 * cookie that the server writes on <html data-theme>, so that the next page is dark from its
 * first paint (no script runs before it). */
const themeButton = $("nv-theme");
function isDark() {
  const set = document.documentElement.getAttribute("data-theme");
  return set ? set === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
}
function showTheme() {
  themeButton.setAttribute("aria-pressed", String(isDark()));
  themeButton.textContent = isDark() ? "Ljust läge" : "Mörkt läge";
}
themeButton.addEventListener("click", () => {
  const theme = isDark() ? "light" : "dark";
  document.documentElement.setAttribute("data-theme", theme);
  document.cookie = "nv_theme=" + theme + "; path=/; max-age=31536000; samesite=lax";
  showTheme();
});
showTheme();

// -- start ----------------------------------------------------------------------------------------
// The reports first: on a slow network the browser's few connections go to what the walker
// came for, then to the layers around it.
if (!firstShown) reload();
const baseLayers = addBaseLayers(map, layerControl, config);
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js").catch(() => { /* works without it */ });
  const offlineReady = () => {
    if (navigator.serviceWorker.controller) document.body.setAttribute("data-offline-ready", "1");
  };
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // The first visit's list was fetched before the worker took over, so it has no copy of
    // it: hand it the one the page came with, and fetch the current one again in full (a 304
    // is not kept), for the next visit without network.
    keepFirstList();
    getDeviations.forget();
    loadDeviations({ poll: true }).then(offlineReady);
  });
  offlineReady();
}
// -- after the first markers: the walker's walk tonight and sign-ups, heat map and hot spots -------
/* Loaded with import() once the reports are on the map (or after AFTER_FIRST_MS without them),
 * so that their code does not stand between the walker and the markers. */
const AFTER_FIRST_MS = 3000;
let myWalks = null;
let walkTonight = null;
Promise.race([firstDrawn, new Promise((resolve) => setTimeout(resolve, AFTER_FIRST_MS))]).then(() => {
  const loading = [];
  if (config.walks) {
    loading.push(import("./js/walk.js").then(({ addMyWalks, addWalkTonight }) => {
      walkTonight = addWalkTonight(map, config, { onReportSent: () => { if (myWalks) myWalks.reload(); } });
      addMyWalks($("nv-my-walks"), {
        onChange: () => walkTonight.reload(), toReportBox: $("nv-to-report"), reporter: walkTonight,
      }).then((m) => { myWalks = m; });
    }));
  }
  const analysisForm = $("nv-analysis-form");
  if (analysisForm) {
    loading.push(import("./js/analysis.js").then(({ addAnalysis }) => {
      addAnalysis(map, layerControl, { area: config.area, form: analysisForm });
    }));
  }
  // For tests and scripts: the page's later parts are in place.
  Promise.allSettled(loading).then(() => document.body.setAttribute("data-later-loaded", "1"));
});

renderPending();
flushQueue();
loadMine();
window.nattvandring = { map, deviationLayer, baseLayers, flushQueue, loadDeviations };
