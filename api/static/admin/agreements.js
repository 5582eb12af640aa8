/* nattvandring: the admins' agreements page (/admin/agreements).
 *
 * Lists the agreements (GET /api/v1/agreements), adds one (POST, the flat body of spec 13:
 * parties and "extends" by name, areas by slug) and changes one (PATCH /api/v1/agreements/{id}
 * with its version). What the API refuses (a reversed period, an unknown party, an overlap with
 * another agreement…) shows in Swedish in the status line.
 */
import { api, getJSON } from "../js/api.js";
import { $, el, pageConfig } from "../js/ui.js";
import { attempt, cell, fillList, say, splitList, values } from "./common.js";

const config = pageConfig();
const form = $("nv-agr-form");
const body = $("nv-agreements").querySelector("tbody");
const sek = new Intl.NumberFormat("sv-SE");
const DATES = ["starts_on", "ends_on", "decided_on", "signed_on"];

function edit(a) {
  const f = form.elements;
  f.id.value = String(a.id);
  f.version.value = String(a.version);
  for (const k of ["name", "kind", "compensation", "notes"]) f[k].value = a[k] || "";
  for (const k of DATES) f[k].value = a[k] || "";
  f.rate_sek.value = a.rate_sek === null ? "" : String(a.rate_sek);
  f.budget_sek.value = a.budget_sek === null ? "" : String(a.budget_sek);
  f.parties.value = a.parties.join(", ");
  f.areas.value = a.areas.join(", ");
  f.extends.value = a.extends ? a.extends.name : "";
  f.walkers_per_walk.value = String(a.walkers_per_walk);
  f.reporting_dates.value = a.reporting_dates.join(", ");
  $("nv-agr-form-title").textContent = "Ändra " + a.name;
  showCompensation();
  f.name.focus();
}

function pay(a) {
  return a.compensation === "per_walk"
    ? sek.format(a.rate_sek) + " kr per pass"
    : "bidrag " + sek.format(a.budget_sek) + " kr";
}

function row(a) {
  const change = el("button", { type: "button", text: "Ändra" });
  change.addEventListener("click", () => edit(a));
  return el("tr", { "data-id": String(a.id) }, [
    cell(a.name), cell(config.agreement_kinds[a.kind] || a.kind), cell(a.parties.join(", ")),
    cell(a.starts_on + " – " + a.ends_on), cell(pay(a)), cell(a.signed_on || "ej undertecknat"),
    cell(change),
  ]);
}

async function load() {
  const data = await attempt(() => getJSON("/api/v1/agreements"));
  if (!data) return;
  body.replaceChildren(...data.agreements.map(row));
  document.body.dataset.agreements = String(data.agreements.length);
  const orgs = await getJSON("/api/v1/organisations").catch(() => null);
  if (orgs) fillList("nv-organisations", orgs.organisations.map((o) => o.name));
}

/** Show the fields of the compensation chosen: a rate per walk, or a grant's budget and its
 * reporting dates. */
function showCompensation() {
  const grant = form.elements.compensation.value === "grant";
  form.elements.rate_sek.closest("label").hidden = grant;
  form.elements.budget_sek.closest("label").hidden = !grant;
  form.elements.reporting_dates.closest("label").hidden = !grant;
}
form.elements.compensation.addEventListener("change", showCompensation);

function number(text) { return text === "" ? null : Number(text); }

form.addEventListener("reset", () => {
  $("nv-agr-form-title").textContent = "Nytt avtal";
  form.elements.id.value = "";
  form.elements.version.value = "";
  setTimeout(showCompensation);  // after the form's own reset of the <select>
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const v = values(form);
  const grant = v.compensation === "grant";
  const fields = {
    name: v.name, kind: v.kind, compensation: v.compensation,
    // Only the figure of the compensation chosen: the API refuses a rate on a grant and the
    // other way round, and reporting dates on an agreement paid per walk.
    rate_sek: grant ? null : number(v.rate_sek), budget_sek: grant ? number(v.budget_sek) : null,
    parties: splitList(v.parties), areas: splitList(v.areas),
    starts_on: v.starts_on, ends_on: v.ends_on,
    decided_on: v.decided_on || null, signed_on: v.signed_on || null,
    extends: v.extends || null, walkers_per_walk: Number(v.walkers_per_walk || 6),
    reporting_dates: grant ? splitList(v.reporting_dates) : [], notes: v.notes,
  };
  const saved = await attempt(() => (v.id
    ? api("PATCH", "/api/v1/agreements/" + v.id, { ...fields, version: Number(v.version) })
    : api("POST", "/api/v1/agreements", fields)));
  if (!saved) return;
  form.reset();
  say("Avtalet " + saved.name + " är sparat.");
  showCompensation();
load();
});

showCompensation();
load();
