/* nattvandring: the walker's walk on the phone: "Min vandring ikväll", the walk itself (start,
 * the recorded track, end) and the report back (återrapportering), and the walker's own walks
 * with the club's season to sign up for.
 *
 * Track points and reports wait on the phone (queue.js) until the server has them, so a dead
 * zone loses nothing and a retry stores nothing twice. Text from the server reaches the page
 * through textContent only.
 */
import { call, errorText } from "./api.js";
import {
  addPoint, enqueue, flush, flushPoints, readQueue, trackKey, trackPoint, uuid4, walkReportKey,
} from "./queue.js";
import { $, el, toast } from "./ui.js";

const L = window.L;
const TZ = "Europe/Stockholm";
export const clockFormat = new Intl.DateTimeFormat("sv-SE", { timeZone: TZ, hour: "2-digit", minute: "2-digit" });
export const dayFormat = new Intl.DateTimeFormat("sv-SE", {
  timeZone: TZ, weekday: "long", day: "numeric", month: "long",
});
export const MOOD_SV = { calm: "lugnt", mixed: "blandat", unsettled: "oroligt" };
export const CONTACTS_SV = {
  field_workers: "fältassistenter", police: "polis", ambulance: "ambulans",
  parents: "föräldrar", school: "skola",
};
export const STATUS_SV = {
  planned: "planerad", ongoing: "pågår", reported: "återrapporterad", approved: "godkänd",
  rejected: "avslagen", cancelled: "inställd",
};

/** "21:00–01:00" of a walk. */
export function timeSpan(walk) {
  const start = clockFormat.format(new Date(walk.planned_start));
  return walk.planned_end ? start + "–" + clockFormat.format(new Date(walk.planned_end)) : start;
}

function telLink(label, number) {
  return el("a", { href: "tel:" + String(number).replace(/[^0-9+]/g, ""), class: "nv-call", text: label + " " + number });
}

/* A Date as the value of an <input type="datetime-local"> (the browser's own time zone, which is
 * also how the input's value is read back). */
function localInput(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
    pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
}

/**
 * The walk of tonight on the situation map. ``config`` is the page's config; ``onReportSent`` is
 * called when a report back has been stored by the server or waits on this phone. Returns
 * {currentWalkId()} for the deviation reports made during the walk, {openReport(walk)} for the
 * walks to report from the list and {isWaiting(walkId)} (a report of the walk waits here).
 */
export function addWalkTonight(map, config, { onReportSent = () => {} } = {}) {
  const userId = config.user.id;
  const ENDED_KEY = "nattvandring.walkended." + userId;
  const TONIGHT_KEY = "nattvandring.walktonight." + userId;
  const REPORT_KEY = walkReportKey(userId);
  const layer = L.featureGroup().addTo(map);
  const card = $("nv-walk");
  const form = $("nv-walk-report");
  // ``reporting`` is the walk the report form is for: tonight's, or one from the list of walks
  // to report; ``reportIds`` keeps one report UUID per walk, so a retry is the same report.
  const state = { walk: null, watchId: null, flushing: false, reporting: null, reportIds: {}, points: 0 };

  function setWalkAttr() {
    document.body.setAttribute("data-walk-status", state.walk ? state.walk.status : "none");
  }

  // -- the card -----------------------------------------------------------------------------------
  function render() {
    const w = state.walk;
    setWalkAttr();
    card.hidden = !w;
    if (!w) return;
    const body = $("nv-walk-body");
    body.textContent = "";
    const start = new Date(w.planned_start);
    const day = dayFormat.format(start);
    body.appendChild(el("div", { class: "nv-walk-when", text: day.charAt(0).toUpperCase() + day.slice(1) + ", " + timeSpan(w) }));
    const where = w.meeting_place ? w.meeting_place.name : "samlingsplatsen på kartan";
    body.appendChild(el("div", { class: "nv-walk-meet", text: "Samling: " + where + " kl. " + clockFormat.format(start) }));
    if (w.route) body.appendChild(el("div", { class: "nv-walk-route", text: "Rutt: " + w.route.name }));
    const names = (w.signups || []).map((s) => s.display_name || "(utan namn)");
    const guests = w.guests ? " + " + w.guests + " utan konto" : "";
    body.appendChild(el("div", { class: "nv-walk-count",
      text: "Anmälda: " + (w.signed_up + (w.guests || 0)) + " av " + w.walkers_needed + " behövs" }));
    if (names.length) body.appendChild(el("div", { class: "nv-walk-names", text: names.join(", ") + guests }));
    body.appendChild(el("div", { class: "nv-walk-leader",
      text: "Vandringsledare: " + (w.leader ? w.leader.display_name || "(utan namn)" : "ingen utsedd") }));
    const c = w.contacts || {};
    const calls = el("div", { class: "nv-calls" });
    if (c.field_worker) calls.appendChild(telLink("Fältassistent", c.field_worker));
    if (c.police) calls.appendChild(telLink("Polisen", c.police));
    if (c.emergency) calls.appendChild(telLink("Nödnummer", c.emergency));
    if (calls.childNodes.length) body.appendChild(calls);
    $("nv-walk-start").hidden = w.status !== "planned";
    $("nv-walk-end").hidden = w.status !== "ongoing" || !!w.ended_at;
    $("nv-walk-report-open").hidden = !(w.ended_at && !w.reported);
    renderTrack();
  }

  function renderTrack() {
    const line = $("nv-walk-track");
    const w = state.walk;
    if (!w || w.status !== "ongoing") { line.textContent = ""; return; }
    const waiting = readQueue(localStorage, trackKey(userId, w.id)).length;
    line.textContent = "Spåret spelas in: " + state.points + (state.points === 1 ? " punkt" : " punkter") +
      (waiting ? ", " + waiting + " väntar på nätet" : ", alla skickade");
    document.body.setAttribute("data-track-waiting", String(waiting));
  }

  function drawWalk(w) {
    layer.clearLayers();
    if (w.route_geometry) {
      L.geoJSON(w.route_geometry, {
        style: () => ({ color: "#0057b8", weight: 6, opacity: 0.9, className: "nv-walk-route-line" }),
      }).addTo(layer);
    }
    if (w.meeting_point) {
      const c = w.meeting_point.coordinates;
      L.circleMarker([c[1], c[0]], {
        radius: 9, color: "#ffffff", weight: 3, fillColor: "#b30000", fillOpacity: 1, className: "nv-meeting",
      }).bindTooltip(clockFormat.format(new Date(w.planned_start)), {
        permanent: true, direction: "top", className: "nv-meeting-time",
      }).addTo(layer);
    }
    // Fitted into the part of the map that the card (above) and the panel (below) leave free.
    const panel = document.querySelector(".nv-panel");
    if (layer.getLayers().length) {
      map.fitBounds(layer.getBounds(), {
        paddingTopLeft: [20, card.offsetTop + card.offsetHeight + 20],
        paddingBottomRight: [20, (panel ? panel.offsetHeight : 0) + 60],
        maxZoom: 16,
      });
    }
  }

  async function load() {
    let walk = null;
    try {
      const r = await call("GET", "/api/v1/me/walk-tonight");
      if (!r.ok) return;
      walk = r.data.walk;
      localStorage.setItem(TONIGHT_KEY, JSON.stringify(walk));
    } catch (e) {
      // No network (a reload in a dead zone): the last answer, while its walk lasts.
      walk = JSON.parse(localStorage.getItem(TONIGHT_KEY) || "null");
      if (walk && Date.parse(walk.planned_end || walk.planned_start) < Date.now()) walk = null;
    }
    if (!walk) {
      // An ended walk drops out of "tonight"; its report is still to be made on this phone.
      const ended = JSON.parse(localStorage.getItem(ENDED_KEY) || "null");
      if (ended && !ended.reported) walk = ended;
    }
    state.walk = walk;
    render();
    if (walk) drawWalk(walk);
    if (walk && walk.status === "ongoing" && !walk.ended_at) record();
  }

  function setWalk(w) {
    // The walk object of start/end has no route geometry or contacts: keep tonight's.
    state.walk = { ...state.walk, ...w };
    localStorage.setItem(TONIGHT_KEY, JSON.stringify(state.walk));
    render();
  }

  async function act(path, okText) {
    const w = state.walk;
    const r = await call("POST", "/api/v1/walks/" + w.id + "/" + path).catch(() => null);
    if (!r) { toast("Ingen kontakt med servern: försök igen när nätet är tillbaka.", "nv-error"); return false; }
    if (!r.ok) { toast(errorText(r.data, r.status), "nv-error"); return false; }
    setWalk(r.data);
    toast(okText, "nv-ok");
    return true;
  }

  // -- the track ------------------------------------------------------------------------------------
  function record() {
    if (state.watchId !== null || !("geolocation" in navigator)) return;
    const key = trackKey(userId, state.walk.id);
    state.watchId = navigator.geolocation.watchPosition((fix) => {
      const point = trackPoint(fix);
      if (!point) return;  // worse than 50 m: not worth sending
      addPoint(localStorage, key, point);
      state.points += 1;
      renderTrack();
      sendTrack();
    }, () => { /* no fix now: the next one counts */ }, { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
  }

  function stopRecording() {
    if (state.watchId !== null) navigator.geolocation.clearWatch(state.watchId);
    state.watchId = null;
  }

  async function sendTrack() {
    const w = state.walk;
    if (!w || state.flushing) return;
    state.flushing = true;
    try {
      await flushPoints(localStorage, trackKey(userId, w.id), async (points) => {
        const r = await call("POST", "/api/v1/walks/" + w.id + "/track/points", { json: { points } });
        if (r.ok) return;
        if (r.status === 401 || r.status === 408 || r.status === 429 || r.status >= 500) throw new Error("wait");
        // The server will never take these points as they are: say so and let them go.
        toast("Spårpunkter kunde inte sparas: " + errorText(r.data, r.status), "nv-error");
      }, { online: navigator.onLine });
    } finally {
      state.flushing = false;
      renderTrack();
    }
  }

  // -- the report back ------------------------------------------------------------------------------
  function openForm(w = state.walk) {
    state.reporting = w;
    state.reportIds[w.id] = state.reportIds[w.id] || uuid4();
    form.hidden = false;
    form.setAttribute("data-walk", w.id);
    document.body.classList.add("nv-reporting");
    $("nv-wr-error").textContent = "";
    const f = $("nv-wr-form");
    f.started_at.value = localInput(new Date(w.started_at || w.planned_start));
    // A walk never started in the app (or not ended in it) starts from its planned times.
    f.ended_at.value = localInput(new Date(w.ended_at || w.planned_end || Date.now()));
    f.walkers_present.value = String((w.signed_up || 0) + (w.guests || 0));
    $("nv-wr-walkers-hint").textContent = "Anmälda: " + ((w.signups || []).map((s) => s.display_name).join(", ") || "inga");
  }
  function closeForm() {
    form.hidden = true;
    document.body.classList.remove("nv-reporting");
  }

  function reportBody() {
    const f = $("nv-wr-form");
    const mood = f.querySelector("input[name=mood]:checked");
    return {
      id: state.reportIds[state.reporting.id],
      started_at: new Date(f.started_at.value).toISOString(),
      ended_at: new Date(f.ended_at.value).toISOString(),
      walkers_present: Number(f.walkers_present.value),
      youths_met: Number(f.youths_met.value || 0),
      mood: mood ? mood.value : null,
      contacts: Array.from(f.querySelectorAll("input[name=contacts]:checked"), (x) => x.value),
      summary: f.summary.value.trim(),
    };
  }

  let lastRefusal = null;
  async function sendReport(item) {
    const r = await call("POST", "/api/v1/walks/" + item.walk_id + "/report", { json: item.report });
    if (r.status === 200 || r.status === 201) {
      if (state.walk && state.walk.id === item.walk_id) setWalk({ reported: true, status: "reported" });
      const ended = JSON.parse(localStorage.getItem(ENDED_KEY) || "null");
      if (ended && ended.id === item.walk_id) localStorage.removeItem(ENDED_KEY);
      toast("Återrapporten är skickad. Tack!", "nv-ok");
      onReportSent(item.walk_id);
      return "stored";
    }
    if (r.status === 401 || r.status === 408 || r.status === 429 || r.status >= 500) throw new Error("wait");
    lastRefusal = { id: item.id, text: errorText(r.data, r.status) };
    return "refused";
  }

  async function flushReports() {
    const result = await flush(localStorage, REPORT_KEY, sendReport, { online: navigator.onLine });
    const n = readQueue(localStorage, REPORT_KEY).length;
    document.body.setAttribute("data-walk-reports-waiting", String(n));
    return result;
  }

  async function submit(event) {
    event.preventDefault();
    const body = reportBody();
    if (!body.mood) { $("nv-wr-error").textContent = "Välj stämningen: lugnt, blandat eller oroligt."; return; }
    if (Number.isNaN(Date.parse(body.started_at)) || Number.isNaN(Date.parse(body.ended_at))) {
      $("nv-wr-error").textContent = "Fyll i när vandringen startade och slutade."; return;
    }
    enqueue(localStorage, REPORT_KEY, { id: body.id, walk_id: state.reporting.id, report: body });
    lastRefusal = null;
    const result = await flushReports();
    if (lastRefusal && lastRefusal.id === body.id) {
      $("nv-wr-error").textContent = "Återrapporten kunde inte sparas: " + lastRefusal.text;
      return;  // the form stays open with what was written
    }
    closeForm();
    onReportSent(state.reporting.id);
    if (result.waiting) {
      toast("Återrapporten väntar på nätet och skickas när det är tillbaka.", "nv-ok");
    }
  }

  // -- wiring ---------------------------------------------------------------------------------------
  $("nv-walk-start").addEventListener("click", async () => {
    if (await act("start", "Vandringen har startat. Spåret spelas in medan sidan är öppen.")) record();
  });
  $("nv-walk-end").addEventListener("click", async () => {
    await sendTrack();
    if (await act("end", "Vandringen är avslutad.")) {
      stopRecording();
      localStorage.setItem(ENDED_KEY, JSON.stringify(state.walk));
      openForm();
    }
  });
  $("nv-walk-report-open").addEventListener("click", () => openForm());
  $("nv-walk-toggle").addEventListener("click", () => {
    const folded = card.classList.toggle("nv-folded");
    $("nv-walk-toggle").textContent = folded ? "Visa" : "Dölj";
  });
  $("nv-wr-cancel").addEventListener("click", closeForm);
  $("nv-wr-form").addEventListener("submit", submit);
  window.addEventListener("online", () => { sendTrack(); flushReports(); });
  setInterval(() => { sendTrack(); flushReports(); }, 15000);

  load().then(flushReports);
  return {
    currentWalkId: () => (state.walk && state.walk.status === "ongoing" && !state.walk.ended_at ? state.walk.id : null),
    reload: load,
    openReport: (walk) => openForm(walk),
    isWaiting: (walkId) => readQueue(localStorage, REPORT_KEY).some((item) => item.walk_id === walkId),
  };
}

/**
 * The walker's own walks and the club's season with "Anmäl mig" / "Avanmäl mig" in ``box``, and
 * the walks to report back with "Återrapportera" in ``toReportBox`` (shown when there are any),
 * opened in the report form of ``reporter`` (addWalkTonight's answer).
 */
export async function addMyWalks(box, { onChange = () => {}, toReportBox = null, reporter = null } = {}) {
  const list = box.querySelector(".nv-my-walks-list");
  let toReport = [];
  async function load() {
    let data;
    try {
      const r = await call("GET", "/api/v1/me/walks");
      if (!r.ok) { list.textContent = errorText(r.data, r.status); return; }
      data = r.data;
    } catch (e) {
      list.textContent = "Ingen kontakt med servern just nu.";
      renderToReport();  // offline: the last list, without the reports now waiting on the phone
      return;
    }
    toReport = data.to_report || [];
    renderToReport();
    list.textContent = "";
    list.appendChild(el("h3", { text: "Mina pass" }));
    if (!data.upcoming.length) list.appendChild(el("p", { class: "nv-muted", text: "Du är inte anmäld till något pass." }));
    const mine = new Set(data.upcoming.map((w) => w.id));
    data.upcoming.forEach((w) => list.appendChild(row(w, true)));
    list.appendChild(el("h3", { text: "Klubbens pass att anmäla sig till" }));
    const open = data.club.filter((w) => !mine.has(w.id));
    if (!open.length) list.appendChild(el("p", { class: "nv-muted", text: "Inga fler pass den här säsongen." }));
    open.forEach((w) => list.appendChild(row(w, false)));
    box.setAttribute("data-upcoming", String(data.upcoming.length));
  }
  function renderToReport() {
    if (!toReportBox || !reporter) return;
    // A report already waiting on this phone for the network is not asked for again.
    const due = toReport.filter((w) => !reporter.isWaiting(w.id));
    const rowsBox = toReportBox.querySelector(".nv-to-report-list");
    rowsBox.textContent = "";
    due.forEach((w) => {
      const start = new Date(w.planned_start);
      const b = el("button", { type: "button", class: "nv-go", text: "Återrapportera" });
      b.addEventListener("click", () => reporter.openReport(w));
      rowsBox.appendChild(el("div", { class: "nv-my-walk", "data-walk": w.id }, [
        el("span", { text: dayFormat.format(start) + " " + timeSpan(w) +
          (w.meeting_place ? ", " + w.meeting_place.name : "") }),
        b,
      ]));
    });
    toReportBox.hidden = !due.length;
    toReportBox.setAttribute("data-to-report", String(due.length));
  }
  function row(w, signedUp) {
    const start = new Date(w.planned_start);
    const li = el("div", { class: "nv-my-walk", "data-walk": w.id }, [
      el("span", { text: dayFormat.format(start) + " " + timeSpan(w) +
        (w.meeting_place ? ", " + w.meeting_place.name : "") +
        " (" + (w.signed_up + (w.guests || 0)) + " av " + w.walkers_needed + ")" }),
    ]);
    const leading = w.leading;
    if (!leading) {
      const b = el("button", { type: "button", text: signedUp ? "Avanmäl mig" : "Anmäl mig" });
      b.addEventListener("click", async () => {
        b.disabled = true;
        const r = await call(signedUp ? "DELETE" : "POST", "/api/v1/walks/" + w.id + "/signups").catch(() => null);
        if (!r) toast("Ingen kontakt med servern: försök igen.", "nv-error");
        else if (!r.ok) toast(errorText(r.data, r.status), "nv-error");
        else { toast(signedUp ? "Du är avanmäld." : "Du är anmäld. Tack!", "nv-ok"); onChange(); }
        load();
      });
      li.appendChild(b);
    } else {
      li.appendChild(el("strong", { text: " (du leder)" }));
    }
    return li;
  }
  await load();
  return { reload: load };
}
