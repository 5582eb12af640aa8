/* nattvandring: the admins' categories page (/admin/categories).
 *
 * Lists every category, inactive ones too (GET /api/v1/categories?include_inactive=true), adds
 * one (POST) and changes name, colour, weight or active (PATCH /api/v1/categories/{code}).
 */
import { api, getJSON } from "../js/api.js";
import { $, el } from "../js/ui.js";
import { attempt, cell, say, values } from "./common.js";

const body = $("nv-categories").querySelector("tbody");

function row(c) {
  const name = el("input", { value: c.name_sv, maxlength: "100", "aria-label": "Namn för " + c.code });
  const colour = el("input", { type: "color", value: c.colour, "aria-label": "Färg för " + c.code });
  const weight = el("input", { type: "number", min: "0.1", max: "10", step: "0.1", value: String(c.weight), "aria-label": "Vikt för " + c.code });
  const active = el("input", { type: "checkbox", "aria-label": "Aktiv: " + c.code });
  active.checked = c.active;
  const save = el("button", { type: "button", text: "Spara" });
  save.addEventListener("click", async () => {
    const changed = await attempt(() => api("PATCH", "/api/v1/categories/" + encodeURIComponent(c.code), {
      name_sv: name.value.trim(), colour: colour.value, weight: Number(weight.value), active: active.checked,
    }), "Kategorin " + c.code + " är sparad.");
    if (changed) load();
  });
  return el("tr", { "data-code": c.code, class: c.active ? "" : "nv-admin-disabled" },
    [cell(c.code), cell(name), cell(colour), cell(weight), cell(active), cell(save)]);
}

async function load() {
  const data = await attempt(() => getJSON("/api/v1/categories?include_inactive=true"));
  if (!data) return;
  body.replaceChildren(...data.map(row));
  document.body.dataset.categories = String(data.length);
}

$("nv-category-new").addEventListener("submit", async (e) => {
  e.preventDefault();
  const v = values(e.target);
  const made = await attempt(() => api("POST", "/api/v1/categories", {
    code: v.code, name_sv: v.name_sv, colour: v.colour, weight: Number(v.weight || 1),
  }));
  if (!made) return;
  e.target.reset();
  say("Kategorin " + made.name_sv + " är tillagd.");
  load();
});

load();
