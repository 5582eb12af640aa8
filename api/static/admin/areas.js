/* nattvandring: the admins' areas page (/admin/areas): each area's numbers that walkers call
 * during a walk (GET /api/v1/area-settings, PATCH /api/v1/areas/{slug}/settings). An empty field
 * worker's number clears it; the police and emergency numbers are required. */
import { api, getJSON } from "../js/api.js";
import { $, el } from "../js/ui.js";
import { attempt, cell } from "./common.js";

const FIELDS = { field_worker_phone: "Fältassistent", police_phone: "Polis", emergency_phone: "Nödnummer" };
const body = $("nv-areas").querySelector("tbody");

function row(a) {
  const inputs = {};
  for (const [field, label] of Object.entries(FIELDS)) {
    inputs[field] = el("input", { type: "tel", name: field, value: a[field] || "", "aria-label": label + " i " + a.name });
  }
  const save = el("button", { type: "button", text: "Spara" });
  save.addEventListener("click", async () => {
    const change = {};
    for (const [field, input] of Object.entries(inputs)) {
      const v = input.value.trim();
      if (v !== (a[field] || "")) change[field] = v === "" && field === "field_worker_phone" ? null : v;
    }
    const saved = await attempt(
      () => api("PATCH", "/api/v1/areas/" + encodeURIComponent(a.slug) + "/settings", change),
      "Numren för " + a.name + " är sparade.",
    );
    if (saved) Object.assign(a, saved);
  });
  return el("tr", { "data-slug": a.slug }, [
    cell(a.name), ...Object.values(inputs).map((i) => cell(i)), cell(save),
  ]);
}

async function load() {
  const data = await attempt(() => getJSON("/api/v1/area-settings"));
  if (!data) return;
  body.replaceChildren(...data.areas.map(row));
  document.body.dataset.areas = String(data.areas.length);
}

load();
