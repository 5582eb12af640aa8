/* nattvandring: route plans on the planners' map (POST /api/v1/route-plans).
 *
 * The form's start time comes from GET /api/v1/route-plans/default-start (the area's next walk,
 * else 21:00 this evening); a plan is drawn with numbered stops and a timetable of clock times
 * ("21:25"), one colour a group for a plan for several groups, each savable as a walk route and
 * downloadable as GPX. A new request clears the last result at once, and an answer to an older
 * request is dropped. Every text from the server is put on the page with textContent.
 */
import { api } from "./api.js";
import { uuid4 } from "./queue.js";
import { $, el, toast } from "./ui.js";

const L = window.L;
export const GROUP_COLOURS = ["#e31a1c", "#1f78b4", "#33a02c"];
const number = function (x, digits) {
  return Number(x).toLocaleString("sv-SE", { maximumFractionDigits: digits === undefined ? 1 : digits });
};
const km = function (m) { return number(m / 1000, 2) + " km"; };
const minutes = function (m) { return number(m, 1) + " min"; };

function pad(n) { return String(n).padStart(2, "0"); }

/* The offset of ``tz`` from UTC at the instant ``date``, in minutes. */
function offsetAt(date, tz) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" }).formatToParts(date);
  const name = (parts.find(function (p) { return p.type === "timeZoneName"; }) || {}).value || "";
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/* A wall-clock "2026-12-04T21:00" of the area's time zone as ISO 8601 with its offset. */
export function zonedIso(local, tz) {
  const guess = new Date(local + ":00Z");
  const off = offsetAt(new Date(guess.getTime() - offsetAt(guess, tz) * 60000), tz);
  const a = Math.abs(off);
  return local + ":00" + (off < 0 ? "-" : "+") + pad(Math.floor(a / 60)) + ":" + pad(a % 60);
}

/**
 * Route plans on ``map``: the form #nv-plan-form, the status #nv-plan-status and the result
 * #nv-plan-result. ``opts.area()`` is the chosen area, ``opts.saved()`` reloads the saved
 * routes. Returns {layer, lastPlan()}.
 */
export function addRoutePlans(map, layerControl, opts) {
  const form = $("nv-plan-form");
  const status = $("nv-plan-status");
  const box = $("nv-plan-result");
  const layer = L.featureGroup().addTo(map);
  layerControl.addOverlay(layer, "Ruttförslag");
  let startPoint = null, startMarker = null, lastPlan = null, request = 0;
  let timeZone = "Europe/Stockholm";
  const clockIn = function (tz) {
    return new Intl.DateTimeFormat("sv-SE", { timeZone: tz, hour: "2-digit", minute: "2-digit" });
  };
  let clock = clockIn(timeZone);
  const startInput = form.querySelector("[name=start_at]");

  function loadDefaultStart() {
    const area = opts.area();
    return api("GET", "/api/v1/route-plans/default-start?area=" + encodeURIComponent(area)).then(function (d) {
      if (opts.area() !== area) return;
      timeZone = d.time_zone;
      clock = clockIn(timeZone);
      startInput.value = d.local;
      startInput.setAttribute("data-area", area);
      startInput.title = d.source === "walk" ? "Nästa planerade pass i området" : "I kväll kl. 21";
    }).catch(function (err) { toast("Kunde inte hämta starttiden: " + err.message, "nv-error"); });
  }
  form.querySelector("[name=area]").addEventListener("change", loadDefaultStart);
  loadDefaultStart();

  map.on("click", function (e) {
    if (form.querySelector("[name=start]").value !== "map") return;
    startPoint = [e.latlng.lng, e.latlng.lat];
    if (startMarker) startMarker.setLatLng(e.latlng);
    else startMarker = L.marker(e.latlng, { title: "Start" }).addTo(layer);
    status.textContent = "Startpunkt vald på kartan.";
  });

  function clear() {
    lastPlan = null;
    layer.clearLayers();
    if (startMarker) layer.addLayer(startMarker);
    box.textContent = "";
    document.body.removeAttribute("data-plan-stops");
    document.body.removeAttribute("data-plan-groups");
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const startValue = form.querySelector("[name=start]").value;
    let start;
    if (startValue === "map") {
      if (!startPoint) { status.textContent = "Välj en startplats i listan, eller klicka på kartan."; return; }
      start = { type: "Point", coordinates: startPoint };
    } else {
      start = { place_id: Number(startValue) };
    }
    const days = Number(form.querySelector("[name=period]").value);
    const tow = form.querySelector("[name=tow]").value.split("|");
    const now = new Date();
    const body = {
      area: form.querySelector("[name=area]").value,
      start: start,
      duration_min: Number(form.querySelector("[name=duration]").value),
      speed_kmh: Number(form.querySelector("[name=speed]").value),
      dwell_min: Number(form.querySelector("[name=dwell]").value),
      since: new Date(now.getTime() - days * 86400000).toISOString(),
      until: now.toISOString(),
      time_limit_s: 1.0,
    };
    if (startInput.value) body.start_at = zonedIso(startInput.value, timeZone);
    const groups = Number(form.querySelector("[name=groups]").value || 1);
    if (groups > 1) body.groups = groups;
    if (tow[0]) body.days = tow[0];
    if (tow[1]) body.hours = tow[1];
    clear();  // stale results go at once
    const mine = ++request;
    status.textContent = "Räknar fram " + (groups > 1 ? groups + " rutter" : "en rutt") + " …";
    api("POST", "/api/v1/route-plans", body).then(function (answer) {
      if (mine === request) show(answer);
    }).catch(function (err) {
      if (mine === request) status.textContent = "Inget ruttförslag: " + err.message;
    });
  });

  /* Padding that keeps the plan out from under the panel: beside it on a wide screen, above it
   * on a phone (where it lies along the bottom). */
  function fitPadding() {
    const panel = $("nv-plan-panel");
    const m = map.getContainer().getBoundingClientRect();
    const p = panel ? panel.getBoundingClientRect() : null;
    if (!p || p.width === 0) return { padding: [30, 30] };
    if (p.width < 0.6 * m.width) {
      return { paddingTopLeft: [Math.max(30, p.right - m.left + 20), 30], paddingBottomRight: [30, 30] };
    }
    return { paddingTopLeft: [30, 30], paddingBottomRight: [30, Math.max(30, m.bottom - p.top + 20)] };
  }

  function show(answer) {
    lastPlan = answer;
    const plans = answer.type === "FeatureCollection" ? answer.features : [answer];
    const summary = answer.type === "FeatureCollection" ? answer.properties : answer.properties;
    plans.forEach(function (f, g) { draw(f, g); });
    if (layer.getLayers().length && plans.some(function (f) { return f.properties.stops.length || f.geometry.coordinates.length > 1; })) {
      map.fitBounds(layer.getBounds(), fitPadding());
    }
    const stops = plans.reduce(function (n, f) { return n + f.properties.stops.length; }, 0);
    if (plans.length > 1) {
      status.textContent = plans.length + " grupper, " + stops + " stopp, prioritet " +
        number(summary.priority_collected) + ", start " + clock.format(new Date(summary.start_at)) + ".";
    } else {
      const p = summary;
      status.textContent = p.stops.length + " stopp, " + km(p.length_m) + ", " + Math.round(p.duration_min) +
        " av " + Math.round(p.budget_min) + " minuter (" + Math.round(p.walking_min) + " min gång), " +
        clock.format(new Date(p.start_at)) + "–" + clock.format(new Date(p.end_at)) + ".";
    }
    plans.forEach(function (f, g) { box.appendChild(timetable(f, g, plans.length)); });
    if (summary.left_out.length) {
      const details = el("details", {}, [el("summary", { text: summary.left_out.length + " kandidater kom inte med" })]);
      const ul = el("ul", { class: "nv-left-out" });
      summary.left_out.forEach(function (lo) { ul.appendChild(el("li", { text: lo.name + ": " + (lo.reason_sv || lo.reason) })); });
      details.appendChild(ul);
      box.appendChild(details);
    }
    document.body.setAttribute("data-plan-stops", String(stops));
    document.body.setAttribute("data-plan-groups", String(plans.length));
  }

  function draw(f, g) {
    const colour = GROUP_COLOURS[g % GROUP_COLOURS.length];
    L.geoJSON(f, { style: { color: colour, weight: 5, opacity: 0.85, className: "nv-plan-route nv-plan-group-" + (g + 1) } }).addTo(layer);
    f.properties.stops.forEach(function (s, i) {
      const icon = L.divIcon({ className: "nv-stop-icon nv-stop-group-" + (g + 1), html: String(i + 1), iconSize: [24, 24] });
      if (s.snap_m > 15) {
        // A thin line from the place itself to where the walk stops for it.
        L.polyline([[s.lat, s.lon], [s.on_route[1], s.on_route[0]]],
                   { color: colour, weight: 1, dashArray: "3 4", interactive: false }).addTo(layer);
      }
      L.marker([s.on_route[1], s.on_route[0]], { icon: icon, title: (i + 1) + ". " + s.name })
        .bindPopup(el("div", { class: "nv-popup" }, [
          el("strong", { text: (i + 1) + ". " + s.name }),
          el("div", { text: "Framme " + clock.format(new Date(s.arrive)) + (s.wait_min > 0 ? ", vänta " + minutes(s.wait_min) : "") +
            ", stanna " + minutes(s.dwell_min) + ", gå " + clock.format(new Date(s.leave)) }),
          ...(s.hours ? [el("div", { class: "nv-muted", text: "Öppet " + s.hours })] : [])]))
        .addTo(layer);
    });
  }

  function timetable(f, g, groups) {
    const p = f.properties;
    const part = el("section", { class: "nv-plan-group", "data-group": String(g + 1) });
    if (groups > 1) {
      part.appendChild(el("h3", { class: "nv-group-title" }, [
        el("span", { class: "nv-swatch", style: "background:" + GROUP_COLOURS[g % GROUP_COLOURS.length] }),
        el("span", { text: " " + (p.name || "Grupp " + (g + 1)) + ": " + p.stops.length + " stopp, " + km(p.length_m) + ", " +
          clock.format(new Date(p.start_at)) + "–" + clock.format(new Date(p.end_at)) })]));
    }
    const table = el("table", { class: "nv-table" });
    table.appendChild(el("tr", {}, [el("th", { text: "#" }), el("th", { text: "Stopp" }), el("th", { text: "Framme" }), el("th", { text: "Prio" })]));
    p.stops.forEach(function (s, i) {
      const at = clock.format(new Date(s.arrive)) + (s.wait_min > 0 ? " (vänta " + minutes(s.wait_min) + ")" : "");
      table.appendChild(el("tr", { class: "nv-stop-row" }, [el("td", { text: String(i + 1) }), el("td", { text: s.name + (s.hours ? " (öppet " + s.hours + ")" : "") }),
        el("td", { text: at, class: "nv-arrive" }), el("td", { text: number(s.priority) })]));
    });
    part.appendChild(table);
    part.appendChild(saveRow(f, g, groups));
    return part;
  }

  function saveRow(f, g, groups) {
    const p = f.properties;
    const suffix = groups > 1 ? " grupp " + (g + 1) : "";
    const name = el("input", { id: "nv-plan-name" + (g ? "-" + (g + 1) : ""), maxlength: "200",
                               value: "Ruttförslag " + new Date().toLocaleDateString("sv-SE") + suffix });
    const save = el("button", { type: "button", class: "nv-primary", id: "nv-plan-save" + (g ? "-" + (g + 1) : ""), text: "Spara som rutt" });
    const row = el("div", { class: "nv-row" }, [el("label", { text: "Namn " }, [name]), save]);
    if (p.gpx) {
      const url = URL.createObjectURL(new Blob([p.gpx], { type: "application/gpx+xml" }));
      row.appendChild(el("a", { href: url, text: "GPX", class: "nv-button nv-group-gpx", download: "grupp-" + (g + 1) + ".gpx" }));
    }
    const idempotency = uuid4();
    save.addEventListener("click", function () {
      if (f.geometry.coordinates.length < 2) { toast("Förslaget har ingen sträcka att spara.", "nv-error"); return; }
      api("POST", "/api/v1/routes", {
        type: "Feature", geometry: f.geometry,
        properties: { name: name.value.trim() || "Ruttförslag", area: p.area, source: "planned",
                      notes: p.stops.length + " stopp, " + Math.round(p.duration_min) + " min",
                      plan: { stops: p.stops, duration_min: p.duration_min, length_m: p.length_m } },
      }, { "Idempotency-Key": idempotency }).then(function (route) {
        toast("Sparad som rutt " + route.properties.name + ".", "nv-ok");
        if (!g) {
          row.appendChild(el("a", { href: "/api/v1/routes/" + route.id + ".gpx", text: "Ladda ner GPX", id: "nv-plan-gpx", class: "nv-button", download: "" }));
        }
        opts.saved();
      }).catch(function (err) { toast("Kunde inte spara: " + err.message, "nv-error"); });
    });
    return row;
  }

  return { layer: layer, lastPlan: function () { return lastPlan; } };
}
