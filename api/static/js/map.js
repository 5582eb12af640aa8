/* nattvandring: the Leaflet map of every page: base map, scale bar, layer control, and the
 * district, zone and place layers, fetched from the API (the page carries none of them).
 *
 * Leaflet is the vendored classic script (window.L), loaded before the page's module.
 */
import { call, getJSON } from "./api.js";
import { el } from "./ui.js";

const L = window.L;

/** The map in #map, fitted to the config's area, with the base map (if any), a metric scale
 * bar and a collapsed layer control. Returns {map, layers, tiles} where layers is the control
 * and tiles the base map's layer (null without one), which ``addTiles: false`` leaves for the
 * caller to add (after what it draws first: making the tiles costs a phone's CPU). */
export function createMap(config, container = "map", { addTiles = true } = {}) {
  const map = L.map(container, { zoomControl: true });
  // Districts and zones under the places, the places under everything the page adds (the
  // overlay pane, z-index 400: deviations, routes, the own position), whenever each arrives.
  map.createPane("nv-base").style.zIndex = 350;
  map.createPane("nv-places").style.zIndex = 380;
  const base = {};
  let tiles = null;
  if (config.tile_url) {
    // CORS, so that the service worker can read the tiles' cache headers and keep the ones
    // seen for offline use (sw.js); the tile server learns the site's origin, as OpenStreetMap's
    // policy asks, not the page's path (the pages' own Referrer-Policy is same-origin).
    tiles = L.tileLayer(config.tile_url, {
      attribution: config.tile_attribution, maxZoom: 19,
      crossOrigin: "anonymous", referrerPolicy: "strict-origin-when-cross-origin",
    });
    base["Bakgrundskarta"] = tiles;
    if (addTiles) tiles.addTo(map);
  }
  const layers = L.control.layers(base, {}, { collapsed: true }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  if (config.bounds) map.fitBounds(config.bounds);
  else map.setView([59.3293, 18.0686], 11);  // Stockholm, until the districts are loaded
  return { map, layers, tiles };
}

/** A tooltip or popup body of "label: value" lines, as text. */
export function infoBox(rows) {
  const box = el("div", { class: "nv-popup" });
  for (const [label, value] of rows) {
    if (value === null || value === undefined || value === "") continue;
    box.appendChild(el("div", {}, [el("strong", { text: label + ": " }), el("span", { text: String(value) })]));
  }
  return box;
}

function title(config, id) {
  const layer = (config.layers || []).find((l) => l.id === id);
  return layer ? layer.title : null;
}

/** Whether the config lets this user see the layer ``id``. */
export function shows(config, id) { return title(config, id) !== null; }

const BUILDERS = {
  streets(fc) {
    // The imported street network ("Gator"): streets on the map even without a tile server.
    return L.geoJSON(fc, {
      pane: "nv-base", interactive: false,
      style: () => ({ color: "#8a8f98", weight: 2, opacity: 0.8, className: "nv-street" }),
    });
  },
  areas(fc) {
    return L.geoJSON(fc, {
      pane: "nv-base",
      style: () => ({ color: "#333333", weight: 2, fillOpacity: 0.03, dashArray: "4 4", className: "nv-area" }),
      onEachFeature: (f, layer) => layer.bindTooltip(infoBox([["Stadsdel", f.properties.name]]), { sticky: true }),
    });
  },
  zones(fc) {
    return L.geoJSON(fc, {
      pane: "nv-base",
      style: () => ({ color: "#6a3d9a", weight: 2, fillOpacity: 0.15, className: "nv-zone" }),
      onEachFeature: (f, layer) => layer.bindTooltip(
        infoBox([["Zon", f.properties.name], ["Om zonen", f.properties.description]]), { sticky: true }),
    });
  },
  places(fc, config) {
    const kinds = config.place_kinds || {};
    return L.geoJSON(fc, {
      // Small and pale, so that the deviations (drawn larger, dark-edged) stand out.
      pointToLayer: (f, latlng) => L.circleMarker(latlng, {
        pane: "nv-places", radius: 3, weight: 1, color: "#ffffff", fill: true, fillOpacity: 0.6,
        fillColor: (kinds[f.properties.kind] || {}).colour || "#666666", className: "nv-place",
      }),
      onEachFeature: (f, layer) => layer.bindTooltip(infoBox([
        ["Plats", f.properties.name],
        ["Typ", (kinds[f.properties.kind] || {}).name_sv || f.properties.kind],
      ])),
    });
  },
};
const URLS = {
  streets: (config) => "/api/v1/streets?area=" + encodeURIComponent(config.area),
  areas: () => "/api/v1/areas", zones: () => "/api/v1/zones", places: () => "/api/v1/places",
};

/**
 * Fetch the districts, zones and places the config lists, draw them and add them to the layer
 * control in the config's order. A layer that cannot be fetched (no network and nothing cached)
 * is left out; the rest of the page works without it. Resolves to {id: Leaflet layer}.
 */
export async function addBaseLayers(map, control, config) {
  const ids = Object.keys(BUILDERS).filter((id) => shows(config, id));
  const fetched = await Promise.all(ids.map((id) => getJSON(URLS[id](config)).catch(() => null)));
  const out = {};
  ids.forEach((id, i) => {
    const fc = fetched[i];
    if (!fc) return;
    const layer = untabbable(BUILDERS[id](fc, config).addTo(map));
    control.addOverlay(layer, title(config, id));
    out[id] = layer;
  });
  if (!config.bounds && out.areas && out.areas.getLayers().length) map.fitBounds(out.areas.getBounds());
  document.body.setAttribute("data-layers", Object.keys(out).join(" "));
  return out;
}

/**
 * Take a drawn layer's shapes out of the Tab order. Leaflet makes every shape with a tooltip a
 * tab stop (hundreds of places and districts before the page's own buttons); keyboard and
 * screen-reader users get the reports as a list instead (situation.js). Returns the layer.
 */
export function untabbable(layer) {
  const walk = (l) => {
    if (l.eachLayer) l.eachLayer(walk);
    const node = l.getElement ? l.getElement() : null;
    if (node) node.setAttribute("tabindex", "-1");
  };
  walk(layer);
  return layer;
}

/** Add an overlay under its Swedish title from the config (or ``fallback``). */
export function addOverlay(control, config, id, layer, fallback) {
  control.addOverlay(layer, title(config, id) || fallback);
}

/**
 * A conditional GET for a layer the page polls: sends the ETag of the last answer of the same
 * URL in If-None-Match, so that an unchanged list costs a 304 without a body. The lists carry
 * personal data and are sent no-store, so the browser's own cache never does this for us.
 * Resolves to {status, ok, data, retryAfter, fresh}: fresh is false on a 304 (data is then the
 * last answer's, kept here), true when data is new.
 */
export function conditionalGetter() {
  let last = null;  // {url, etag, data}
  async function get(url) {
    const headers = last && last.url === url && last.etag ? { "If-None-Match": last.etag } : {};
    const r = await call("GET", url, { headers });
    if (r.status === 304 && last && last.url === url) {
      return { status: 304, ok: true, data: last.data, retryAfter: null, fresh: false,
               fromCache: false, fetchedAt: new Date() };
    }
    // An answer from the service worker's cache is not the server's now: never revalidate it.
    if (r.ok) last = r.fromCache ? null : { url, etag: r.etag, data: r.data };
    return { ...r, fresh: r.ok };
  }
  /** Forget the last answer: the next request is a plain GET (a full answer). */
  get.forget = () => { last = null; };
  /** Take an answer that came another way (in the page) as the last one of ``url``. */
  get.seed = (url, etag, data) => { last = etag ? { url, etag, data } : null; };
  return get;
}
