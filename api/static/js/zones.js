/* nattvandring: the planners' list of collaboration (platssamverkan) zones (issue 15).
 *
 * addZones(map, options) fills #nv-zone-list from GET /api/v1/zones: each zone with its name and
 * description, "Visa" (fit the map to it), "Redigera" (name and description, saved with
 * PUT /api/v1/zones/{slug} and the version read, so a change made meanwhile by someone else is a
 * clear conflict) and "Ta bort" (after a confirmation, DELETE). options.layer is a promise of the
 * map's zone layer (from addBaseLayers), redrawn after each change; options.onChange(fc) is told
 * of every new list (the triage's zone filter). Returns {reload}.
 */
import { api } from "./api.js";
import { $, el, toast } from "./ui.js";

const L = window.L;

export function addZones(map, options) {
  const list = $("nv-zone-list");
  const onChange = options.onChange || function () {};
  let zones = [];

  function reload() {
    return api("GET", "/api/v1/zones").then(function (fc) {
      zones = fc.features.slice().sort(function (a, b) {
        return a.properties.name.localeCompare(b.properties.name, "sv");
      });
      list.textContent = "";
      zones.forEach(function (z) { list.appendChild(item(z)); });
      document.body.setAttribute("data-zones", String(zones.length));
      Promise.resolve(options.layer).then(function (layer) {
        if (!layer) return;
        layer.clearLayers();
        layer.addData(fc);
      });
      onChange(fc);
    }).catch(function (err) { toast("Kunde inte hämta zonerna: " + err.message, "nv-error"); });
  }

  function item(z) {
    const p = z.properties;
    const li = el("li", { "data-zone": z.id });
    li.appendChild(el("span", { class: "nv-route-name", text: p.name }));
    if (p.illustrative) li.appendChild(el("span", { class: "nv-muted", text: " (exempel)" }));
    if (p.description) li.appendChild(el("div", { class: "nv-muted nv-zone-description", text: p.description }));
    const row = el("div", { class: "nv-row" });
    const show = el("button", { type: "button", text: "Visa" });
    show.addEventListener("click", function () {
      map.fitBounds(L.geoJSON(z).getBounds(), { padding: [30, 30] });
    });
    const edit = el("button", { type: "button", text: "Redigera", "data-action": "edit-zone" });
    edit.addEventListener("click", function () { li.replaceWith(editor(z)); });
    const del = el("button", { type: "button", text: "Ta bort", "data-action": "delete-zone" });
    del.addEventListener("click", function () {
      if (!window.confirm("Ta bort zonen " + p.name + "? Det går inte att ångra.")) return;
      api("DELETE", "/api/v1/zones/" + encodeURIComponent(z.id)).then(function () {
        toast("Zonen " + p.name + " är borttagen.", "nv-ok");
        return reload();
      }).catch(function (err) { toast("Kunde inte ta bort zonen: " + err.message, "nv-error"); });
    });
    [show, edit, del].forEach(function (b) { row.appendChild(b); });
    li.appendChild(row);
    return li;
  }

  function editor(z) {
    const p = z.properties;
    const li = el("li", { "data-zone": z.id, class: "nv-zone-editor" });
    const name = el("input", { maxlength: "200", class: "nv-zone-name" });
    name.value = p.name;
    const description = el("textarea", { maxlength: "4000", rows: "3", class: "nv-zone-description-input" });
    description.value = p.description || "";
    const out = el("div", { class: "nv-status", "aria-live": "polite" });
    const save = el("button", { type: "button", class: "nv-primary", text: "Spara", "data-action": "save-zone" });
    const cancel = el("button", { type: "button", text: "Avbryt" });
    cancel.addEventListener("click", function () { li.replaceWith(item(z)); });
    save.addEventListener("click", function () {
      if (!name.value.trim()) { out.textContent = "Zonen behöver ett namn."; return; }
      const body = {
        type: "Feature", geometry: z.geometry,
        properties: { name: name.value.trim(), description: description.value,
                      area: p.area, version: p.version },
      };
      save.disabled = true;
      api("PUT", "/api/v1/zones/" + encodeURIComponent(z.id), body).then(function (f) {
        toast("Zonen " + f.properties.name + " är sparad.", "nv-ok");
        return reload();
      }).catch(function (err) {
        save.disabled = false;
        out.textContent = "Kunde inte spara: " + err.message;
      });
    });
    li.appendChild(el("label", { class: "nv-stack", text: "Namn" }, [name]));
    li.appendChild(el("label", { class: "nv-stack", text: "Beskrivning" }, [description]));
    li.appendChild(el("div", { class: "nv-row" }, [save, cancel]));
    li.appendChild(out);
    return li;
  }

  reload();
  return { reload: reload };
}
