/* nattvandring: walk routes and zones drawn and edited on the planners' map (issue 15).
 *
 * addRouteEditing(map, layerControl, options) draws the saved walk routes (GET /api/v1/routes),
 * each in its own colour with a legend, lists them in #nv-route-list (show, edit, GPX, delete),
 * and draws new routes and zones with Leaflet.draw.
 *
 * A route snapped to the streets is edited by its waypoints (the few points the planner drew,
 * properties.waypoints), not by the street line's many vertices: drag a point, click the line
 * to add one there, click a point to remove it; each change shows the line snapped again
 * (POST /api/v1/routes/snap) before it is saved with PUT ?snap=true. A drawn route (no
 * waypoints) is edited by its own vertices. A new route drawn with "Följ gatorna" shows its
 * snapped line before it is saved. options.onZoneSaved() is told when a zone is stored.
 * Returns {layer, reload}.
 */
import { api } from "./api.js";
import { uuid4 } from "./queue.js";
import { $, el, toast } from "./ui.js";

const L = window.L;
// Distinct colours for the saved routes (Tableau 10); after ten, the colours come again dashed.
export const ROUTE_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
  "#17becf", "#8c564b", "#e377c2", "#595959", "#9a9a00"];
const DASHES = [null, "10 6", "2 6"];
const MAX_DERIVED = 25;
const MAX_WAYPOINTS = 60;

const km = function (m) {
  return (m / 1000).toLocaleString("sv-SE", { maximumFractionDigits: 2 }) + " km";
};
const metres = function (m) { return Math.round(m).toLocaleString("sv-SE") + " m"; };
const lonlat = function (ll) { return [ll.lng, ll.lat]; };
const latlng = function (c) { return L.latLng(c[1], c[0]); };

export function routeStyle(i) {
  return {
    color: ROUTE_COLOURS[i % ROUTE_COLOURS.length],
    dashArray: DASHES[Math.floor(i / ROUTE_COLOURS.length) % DASHES.length],
  };
}

export function addRouteEditing(map, layerControl, options) {
  const onZoneSaved = options.onZoneSaved || function () {};
  const routesLayer = L.featureGroup().addTo(map);
  const drawnLayer = L.featureGroup().addTo(map);
  const zonesDrawn = L.featureGroup().addTo(map);
  const editLayer = L.featureGroup().addTo(map);
  layerControl.addOverlay(routesLayer, "Sparade rutter");
  const status = $("nv-edit-status");

  // -- the legend --------------------------------------------------------------------------
  const legendBox = el("div", { class: "nv-route-legend", id: "nv-route-legend" });
  legendBox.hidden = true;
  const Legend = L.Control.extend({ onAdd: function () { return legendBox; } });
  new Legend({ position: "bottomright" }).addTo(map);
  L.DomEvent.disableClickPropagation(legendBox);
  function legend(features) {
    legendBox.textContent = "";
    legendBox.hidden = features.length === 0 || !map.hasLayer(routesLayer);
    legendBox.appendChild(el("strong", { text: "Sparade rutter" }));
    features.forEach(function (f, i) {
      legendBox.appendChild(el("div", { class: "nv-legend-route" }, [swatch(i), el("span", { text: f.properties.name })]));
    });
  }
  map.on("overlayadd overlayremove", function (e) {
    if (e.layer === routesLayer) legendBox.hidden = e.type === "overlayremove" || !routesLayer.getLayers().length;
  });
  function swatch(i) {
    const s = el("span", { class: "nv-line-swatch", "aria-hidden": "true" });
    const style = routeStyle(i);
    s.style.background = style.dashArray
      ? "repeating-linear-gradient(90deg, " + style.color + " 0 6px, transparent 6px 9px)" : style.color;
    return s;
  }

  // -- saved routes --------------------------------------------------------------------------
  let editing = null;  // the route being edited: {stop()}
  function reload() {
    if (editing) editing.stop();
    return api("GET", "/api/v1/routes").then(function (fc) {
      routesLayer.clearLayers();
      const list = $("nv-route-list");
      list.textContent = "";
      const features = fc.features.slice().sort(function (a, b) {
        return a.properties.name.localeCompare(b.properties.name, "sv") || a.id - b.id;
      });
      features.forEach(function (f, i) {
        const style = routeStyle(i);
        const line = L.geoJSON(f, { style: { color: style.color, dashArray: style.dashArray, weight: 4,
          opacity: 0.85, className: "nv-saved-route" } }).getLayers()[0];
        line.feature = f;
        line.bindPopup(el("div", { class: "nv-popup" }, [
          el("strong", { text: f.properties.name }), el("div", { text: km(f.properties.length_m) })]));
        routesLayer.addLayer(line);
        list.appendChild(routeItem(f, line, i));
      });
      legend(features);
      document.body.setAttribute("data-routes", String(fc.features.length));
    }).catch(function (err) { toast("Kunde inte hämta rutterna: " + err.message, "nv-error"); });
  }

  function routeItem(f, line, i) {
    const p = f.properties;
    const item = el("li", { "data-route-id": String(f.id) });
    item.appendChild(swatch(i));
    item.appendChild(el("span", { class: "nv-route-name", text: p.name }));
    item.appendChild(el("span", { class: "nv-muted", text: " " + km(p.length_m) + " · v" + p.version +
      (p.waypoints ? " · " + p.waypoints.length + " punkter längs gatorna" : "") }));
    const row = el("div", { class: "nv-row" });
    const show = el("button", { type: "button", text: "Visa" });
    show.addEventListener("click", function () { map.fitBounds(line.getBounds(), { padding: [30, 30] }); line.openPopup(); });
    const edit = el("button", { type: "button", text: "Redigera", "data-action": "edit" });
    edit.addEventListener("click", function () {
      if (editing && editing.route === f.id) { editing.save(); return; }
      if (editing) editing.stop();
      // A route along the streets stored before it kept its waypoints (or a route plan's walk):
      // a few points from its line, so that it is still edited by points, not by every vertex.
      // A GPX track snapped keeps every recorded point as a waypoint: a few of them, likewise.
      const stored = p.waypoints && p.waypoints.length <= MAX_WAYPOINTS ? p.waypoints.map(latlng) : null;
      const derived = !stored && Boolean(p.waypoints || p.source === "snapped" || p.source === "planned");
      const points = stored || (derived ? simplified(p.waypoints ? p.waypoints.map(latlng) : line.getLatLngs()) : null);
      editing = points ? editByWaypoints(f, line, edit, points, derived) : editByVertices(f, line, edit);
    });
    const gpx = el("a", { href: "/api/v1/routes/" + f.id + ".gpx", text: "GPX", class: "nv-button", download: "" });
    const del = el("button", { type: "button", text: "Ta bort" });
    del.addEventListener("click", function () {
      if (!window.confirm("Ta bort rutten " + p.name + "?")) return;
      api("DELETE", "/api/v1/routes/" + f.id).then(reload)
        .catch(function (err) { toast("Kunde inte ta bort: " + err.message, "nv-error"); });
    });
    [show, edit, gpx, del].forEach(function (b) { row.appendChild(b); });
    item.appendChild(row);
    return item;
  }

  function put(f, coords, snap) {
    const p = f.properties;
    const body = { type: "Feature", geometry: { type: "LineString", coordinates: coords },
                   properties: { name: p.name, area: p.area, notes: p.notes, version: p.version } };
    return api("PUT", "/api/v1/routes/" + f.id + (snap ? "?snap=true" : ""), body).then(function () {
      toast("Rutten är sparad.", "nv-ok");
      status.textContent = "";
      editing = null;
      return reload();
    }).catch(function (err) { toast("Kunde inte spara: " + err.message, "nv-error"); editing = null; reload(); });
  }

  /* A drawn route: Leaflet.draw's handles on its own vertices (it has no others). */
  function editByVertices(f, line, button) {
    line.editing.enable();
    button.textContent = "Spara ändringar";
    status.textContent = "Dra i punkterna för att ändra rutten, spara sedan.";
    return {
      route: f.id,
      save: function () {
        line.editing.disable();
        put(f, line.getLatLngs().map(lonlat), $("nv-snap").checked);
      },
      stop: function () { line.editing.disable(); button.textContent = "Redigera"; editing = null; },
    };
  }

  /* A few points of a line: Douglas-Peucker on the map's pixels at zoom 18 (about 0.3 m
   * a pixel at 59° N), 25 m first, coarser until at most MAX_DERIVED points are left. */
  function simplified(latlngs) {
    const ZOOM = 18;
    const pixels = latlngs.map(function (ll) { return map.project(ll, ZOOM); });
    let kept = pixels;
    for (let tolerance = 80; tolerance < 1e5; tolerance *= 2) {
      kept = L.LineUtil.simplify(pixels, tolerance);
      if (kept.length <= MAX_DERIVED) break;
    }
    return kept.map(function (pt) { return map.unproject(pt, ZOOM); });
  }

  /* A snapped route: a handle on each waypoint, the line snapped again after every change.
   * ``derived``: the points come from the line (the route kept none). */
  function editByWaypoints(f, line, button, initial, derived) {
    let points = initial.slice();
    let preview = null, asked = 0;
    const markers = [];
    line.setStyle({ opacity: 0.25 });
    button.textContent = "Spara ändringar";
    const cancel = el("button", { type: "button", text: "Avbryt", id: "nv-edit-cancel" });
    button.after(cancel);
    cancel.addEventListener("click", function () { session.stop(); });
    const how = "Dra i punkterna, klicka på linjen för en ny punkt, klicka på en punkt för att ta bort den. Spara sedan.";
    const hint = el("div", { class: "nv-status", id: "nv-edit-hint",
      text: (derived ? "Punkterna är tagna ur linjen (rutten har inga sparade punkter, eller alltför många). " : "") + how });
    status.before(hint);

    function drawMarkers() {
      markers.splice(0).forEach(function (m) { editLayer.removeLayer(m); });
      points.forEach(function (ll, i) {
        const icon = L.divIcon({ className: "nv-waypoint", html: String(i + 1), iconSize: [22, 22] });
        const m = L.marker(ll, { icon: icon, draggable: true, title: "Punkt " + (i + 1), keyboard: false });
        m.on("dragend", function () { points[i] = m.getLatLng(); resnap(); });
        m.on("click", function () {
          if (points.length <= 2) { status.textContent = "En rutt behöver minst två punkter."; return; }
          points.splice(i, 1);
          drawMarkers();
          resnap();
        });
        m.addTo(editLayer);
        markers.push(m);
      });
      document.body.setAttribute("data-waypoints", String(points.length));
    }

    function insertAt(ll) {
      // Into the leg of the waypoints nearest the click (in screen pixels).
      const p = map.latLngToLayerPoint(ll);
      let best = 0, bestD = Infinity;
      for (let i = 0; i + 1 < points.length; i++) {
        const d = L.LineUtil.pointToSegmentDistance(p, map.latLngToLayerPoint(points[i]), map.latLngToLayerPoint(points[i + 1]));
        if (d < bestD) { bestD = d; best = i; }
      }
      points.splice(best + 1, 0, ll);
      drawMarkers();
      resnap();
    }

    function resnap() {
      const mine = ++asked;
      status.textContent = "Fäster mot gatorna …";
      return api("POST", "/api/v1/routes/snap", {
        type: "Feature", geometry: { type: "LineString", coordinates: points.map(lonlat) },
        properties: { area: f.properties.area },
      }).then(function (s) {
        if (mine !== asked) return;
        if (preview) editLayer.removeLayer(preview);
        preview = L.geoJSON(s, { style: { color: "#d95f02", weight: 5, opacity: 0.9, className: "nv-snap-preview" },
          bubblingMouseEvents: false }).getLayers()[0];
        preview.options.bubblingMouseEvents = false;
        preview.on("click", function (e) { insertAt(e.latlng); });
        preview.addTo(editLayer);
        markers.forEach(function (m) { m.setZIndexOffset(1000); });
        status.textContent = "Förhandsvisning: " + km(s.properties.length_m) + ", punkterna flyttades högst " +
          metres(s.properties.snap.max_moved_m) + " till gatorna. Spara för att behålla.";
        document.body.setAttribute("data-snap-preview", String(s.geometry.coordinates.length));
      }).catch(function (err) {
        if (mine !== asked) return;
        status.textContent = "Kunde inte fästa mot gatorna: " + err.message;
      });
    }

    const session = {
      route: f.id,
      save: function () {
        const coords = points.map(lonlat);
        session.stop();
        put(f, coords, true);
      },
      stop: function () {
        editLayer.clearLayers();
        cancel.remove();
        hint.remove();
        line.setStyle({ opacity: 0.85 });
        button.textContent = "Redigera";
        status.textContent = "";
        document.body.removeAttribute("data-waypoints");
        document.body.removeAttribute("data-snap-preview");
        editing = null;
      },
    };
    drawMarkers();
    resnap();
    return session;
  }

  // -- drawing new routes and zones ---------------------------------------------------------------
  let pending = null;  // {kind: "route" | "zone", layer, keys}
  const drawOptions = { shapeOptions: { color: "#d95f02", weight: 4 }, showLength: true, metric: true };
  $("nv-draw-route").addEventListener("click", function () {
    new L.Draw.Polyline(map, drawOptions).enable();
    status.textContent = "Klicka ut rutten på kartan; avsluta med ett klick på sista punkten.";
  });
  $("nv-draw-zone").addEventListener("click", function () {
    new L.Draw.Polygon(map, { allowIntersection: false, showArea: false, shapeOptions: { color: "#6a3d9a" } }).enable();
    status.textContent = "Klicka ut zonens hörn; avsluta på första punkten.";
  });
  map.on(L.Draw.Event.CREATED, function (e) {
    drawnLayer.clearLayers();
    drawnLayer.addLayer(e.layer);
    pending = { kind: e.layerType === "polyline" ? "route" : "zone", layer: e.layer };
    $("nv-save-drawn").hidden = false;
    $("nv-drawn-name").value = "";
    $("nv-drawn-description").value = "";
    $("nv-drawn-description-label").hidden = pending.kind !== "zone";
    $("nv-drawn-name").focus();
    status.textContent = pending.kind === "route" ? "Ge rutten ett namn och spara." : "Ge zonen ett namn och spara.";
    if (pending.kind === "route" && $("nv-snap").checked) previewDrawn(pending);
  });

  function previewDrawn(drawn) {
    const coords = drawn.layer.getLatLngs().map(lonlat);
    api("POST", "/api/v1/routes/snap", { type: "Feature", geometry: { type: "LineString", coordinates: coords } })
      .then(function (s) {
        if (pending !== drawn) return;
        drawn.layer.setStyle({ opacity: 0.35, dashArray: "4 6" });
        L.geoJSON(s, { style: { color: "#d95f02", weight: 5, opacity: 0.9, className: "nv-snap-preview" } }).addTo(drawnLayer);
        status.textContent = "Rutten längs gatorna: " + km(s.properties.length_m) + " (punkterna flyttades högst " +
          metres(s.properties.snap.max_moved_m) + "). Ge den ett namn och spara.";
        document.body.setAttribute("data-snap-preview", String(s.geometry.coordinates.length));
      }).catch(function (err) {
        if (pending !== drawn) return;
        status.textContent = "Rutten kan inte följa gatorna: " + err.message + " Spara utan att fästa, eller rita om.";
      });
  }

  function closeDrawn() {
    drawnLayer.clearLayers(); pending = null; $("nv-save-drawn").hidden = true;
    status.textContent = "";
    document.body.removeAttribute("data-snap-preview");
  }
  $("nv-drawn-cancel").addEventListener("click", closeDrawn);
  $("nv-drawn-save").addEventListener("click", function () {
    if (!pending) return;
    const name = $("nv-drawn-name").value.trim();
    if (!name) { status.textContent = "Skriv ett namn först."; return; }
    const route = pending.kind === "route";
    const url = route ? "/api/v1/routes" + ($("nv-snap").checked ? "?snap=true" : "") : "/api/v1/zones";
    const ring = route ? null : pending.layer.getLatLngs()[0].map(lonlat);
    if (ring) ring.push(ring[0]);
    const properties = route ? { name: name } : { name: name, description: $("nv-drawn-description").value };
    const body = { type: "Feature", properties: properties, geometry: route
      ? { type: "LineString", coordinates: pending.layer.getLatLngs().map(lonlat) }
      : { type: "Polygon", coordinates: [ring] } };
    // One key per request: pressing "Spara" again after a lost answer stores the shape once;
    // a changed name, shape or snapping is another request with a key of its own.
    const variant = url + JSON.stringify(body);
    pending.keys = pending.keys || {};
    const key = pending.keys[variant] || (pending.keys[variant] = uuid4());
    api("POST", url, body, { "Idempotency-Key": key }).then(function (f) {
      if (route) {
        const moved = f.properties.snap ? " Punkterna flyttades högst " + metres(f.properties.snap.max_moved_m) + " till gatorna." : "";
        toast("Rutten " + f.properties.name + " är sparad (" + km(f.properties.length_m) + ")." + moved, "nv-ok");
        closeDrawn();
        return reload();
      }
      L.geoJSON(f, { style: { color: "#6a3d9a", weight: 2, fillOpacity: 0.15, className: "nv-new-zone" } }).addTo(zonesDrawn);
      toast("Zonen " + f.properties.name + " är sparad.", "nv-ok");
      closeDrawn();
      onZoneSaved(f);
    }).catch(function (err) { status.textContent = "Kunde inte spara: " + err.message; });
  });

  reload();
  return { layer: routesLayer, reload: reload };
}
