/* nattvandring: the admins' organisations page (/admin/organisations).
 *
 * Lists the organisations (GET /api/v1/organisations), adds one (POST) and changes one (PATCH
 * /api/v1/organisations/{id} with its version: a change made meanwhile by someone else is
 * refused with stale_version, and the page reloads the list).
 */
import { api, getJSON } from "../js/api.js";
import { $, el, pageConfig } from "../js/ui.js";
import { attempt, cell, fillList, say, values } from "./common.js";

const config = pageConfig();
const form = $("nv-org-form");
const body = $("nv-orgs").querySelector("tbody");

function edit(o) {
  form.elements.id.value = String(o.id);
  form.elements.version.value = String(o.version);
  form.elements.name.value = o.name;
  form.elements.kind.value = o.kind;
  form.elements.part_of.value = o.part_of ? o.part_of.name : "";
  form.elements.notes.value = o.notes || "";
  $("nv-org-form-title").textContent = "Ändra " + o.name;
  form.elements.name.focus();
}

function row(o) {
  const change = el("button", { type: "button", text: "Ändra" });
  change.addEventListener("click", () => edit(o));
  return el("tr", { "data-id": String(o.id) }, [
    cell(o.name), cell(config.org_kinds[o.kind] || o.kind), cell(o.part_of ? o.part_of.name : ""),
    cell(o.notes || ""), cell(change),
  ]);
}

async function load() {
  const data = await attempt(() => getJSON("/api/v1/organisations"));
  if (!data) return;
  body.replaceChildren(...data.organisations.map(row));
  fillList("nv-organisations", data.organisations.map((o) => o.name));
  document.body.dataset.organisations = String(data.organisations.length);
}

form.addEventListener("reset", () => {
  $("nv-org-form-title").textContent = "Ny organisation";
  form.elements.id.value = "";
  form.elements.version.value = "";
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const v = values(form);
  const fields = { name: v.name, kind: v.kind, part_of: v.part_of || null, notes: v.notes };
  const saved = await attempt(() => (v.id
    ? api("PATCH", "/api/v1/organisations/" + v.id, { ...fields, version: Number(v.version) })
    : api("POST", "/api/v1/organisations", fields)));
  if (!saved) { load(); return; }
  form.reset();
  say("Organisationen " + saved.name + " är sparad.");
  load();
});

load();
