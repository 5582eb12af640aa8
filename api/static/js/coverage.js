/* nattvandring: the planners' map's coverage overlay (issue 17).
 *
 * addCoverage(map, layerControl, options) adds the overlay "Täckning (hot spots nådda)": the
 * period's significant hot-spot cells (95 %) from GET /api/v1/coverage, green where a walked
 * track passed within 50 m and red where no walk reached them, each with its name. The period is
 * the analysis form's (options.form, its "period" in days up to today). Fetched when switched on
 * and again when the form or the area changes.
 */
import { errorText } from "./api.js";
import { el, toast } from "./ui.js";

const L = window.L;
var pct = new Intl.NumberFormat("sv-SE", { style: "percent", maximumFractionDigits: 0 });

function isoDay(d) { return d.toISOString().slice(0, 10); }

export function addCoverage(map, layerControl, options) {
  var area = options.area;
  var form = options.form;
  var group = L.layerGroup();
  layerControl.addOverlay(group, "Täckning (hot spots nådda)");

  function load() {
    if (!map.hasLayer(group)) return;
    var days = Number(form.querySelector("[name=period]").value) || 90;
    var until = new Date();
    var since = new Date(until.getTime() - days * 86400000);
    var p = new URLSearchParams({ area: area(), since: isoDay(since), until: isoDay(until) });
    fetch("/api/v1/coverage?" + p.toString(), { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) {
        return r.json().then(function (body) { toast(errorText(body, r.status), "nv-error"); });
      }
      return r.json().then(function (c) {
        group.clearLayers();
        c.hotspots.forEach(function (h) {
          var colour = h.reached ? "#1a9850" : "#d73027";
          var box = el("div", { class: "nv-popup" }, [
            el("strong", { text: h.name }),
            el("div", { text: h.reached ? "Nådd av en vandring (inom 50 m)" : "Ingen vandring nådde den" }),
          ]);
          L.circle([h.lat, h.lon], { radius: 60, color: colour, weight: 2, fillColor: colour,
            fillOpacity: 0.35, className: h.reached ? "nv-covered" : "nv-not-covered" })
            .bindPopup(box).addTo(group);
        });
        document.body.setAttribute("data-coverage", String(c.hotspot_cells));
        document.body.setAttribute("data-coverage-spots", String(c.hotspots.length));
        document.body.setAttribute("data-coverage-reached",
          String(c.hotspots.filter(function (h) { return h.reached; }).length));
        document.body.setAttribute("data-coverage-share", pct.format(c.share));
      });
    });
  }

  map.on("overlayadd", function (e) { if (e.layer === group) load(); });
  form.addEventListener("change", load);
  return { layer: group, reload: load };
}
