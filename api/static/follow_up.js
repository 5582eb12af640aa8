/* nattvandring: the planners' follow-up page (/plan/follow-up).
 *
 * The programme's summary (GET /api/v1/follow-up/summary?area=): a table per agreement with its
 * dates, extension, walks and cost, the totals "före IOP", "under IOP" and "totalt", and each
 * grant's reporting dates; below it the follow-up per agreement, club, month or area
 * (GET /api/v1/follow-up), with links to its CSV and PDF. Amounts as Swedes write them
 * ("66 300 kr", Intl sv-SE); every text from the server goes in through textContent.
 */
import { getJSON } from "./js/api.js";
import { $, el, pageConfig } from "./js/ui.js";

const config = pageConfig();
const whole = new Intl.NumberFormat("sv-SE", { maximumFractionDigits: 0 });

/** 66 300 kr */
export function sekText(amount) {
  return amount === null || amount === undefined ? "–" : whole.format(amount) + "\u00a0kr";
}

function flagsText(flags) {
  return flags.map((f) => (config.flags[f.code] || f.code) + ": " +
    (f.code === "report_missed" ? f.due_on.length : f.walks)).join("; ");
}

function cells(tr, values, numericFrom) {
  values.forEach((v, i) => tr.appendChild(el("td", { text: String(v), class: i >= numericFrom && i < numericFrom + 5 ? "nv-num" : "" })));
  return tr;
}

function status(text, kind = "") {
  const s = $("nv-follow-status");
  s.textContent = text;
  s.className = "nv-status " + kind;
}

function markSynthetic(data) {
  if (data.synthetic) $("nv-follow-synthetic").hidden = false;
}

function area() { return $("nv-follow-filter").elements.area.value; }

async function showSummary() {
  const body = $("nv-summary").tBodies[0];
  const foot = $("nv-summary").tFoot;
  body.replaceChildren();
  foot.replaceChildren();
  $("nv-grants").replaceChildren();
  let s;
  try {
    s = await getJSON("/api/v1/follow-up/summary?area=" + encodeURIComponent(area()));
  } catch (e) { status(e.message, "nv-error"); return; }
  markSynthetic(s);
  for (const a of s.agreements) {
    const tr = el("tr", { "data-agreement": String(a.id) });
    [a.name, config.kinds[a.kind] || a.kind, a.parties.join(", "), a.decided_on || "–",
      a.signed_on || "–", a.starts_on + " – " + a.ends_on, a.extends ? a.extends.name : "–"]
      .forEach((v) => tr.appendChild(el("td", { text: v })));
    tr.appendChild(el("td", { class: "nv-num", text: whole.format(a.walks_approved) }));
    tr.appendChild(el("td", {
      class: "nv-num",
      text: a.compensation === "grant" ? "bidrag " + sekText(a.budget_sek) : sekText(a.cost_sek),
    }));
    tr.appendChild(el("td", { text: flagsText(a.flags) }));
    body.appendChild(tr);
  }
  if (!s.agreements.length) {
    body.appendChild(el("tr", {}, [el("td", { colspan: "10", text: "Inga avtal för området." })]));
  }
  for (const [key, label] of [["agreement", "Före IOP"], ["iop", "Under IOP"], ["all", "Totalt"]]) {
    const t = s.totals[key];
    const tr = el("tr", { "data-total": key }, [el("th", { colspan: "7", text: label })]);
    tr.appendChild(el("td", { class: "nv-num", text: whole.format(t.walks_approved) }));
    tr.appendChild(el("td", { class: "nv-num", text: sekText(t.cost_sek) }));
    tr.appendChild(el("td", { text: "" }));
    foot.appendChild(tr);
  }
  for (const a of s.agreements.filter((x) => x.compensation === "grant")) {
    const rows = (a.reporting || []).map((r) => el("tr", {}, [
      el("td", { text: r.due_on + (r.final ? " (slutredovisning)" : "") }),
      el("td", { text: config.reporting[r.status] || r.status }),
      el("td", { text: r.report ? r.report.covers_from + " – " + r.report.covers_until : "–" }),
      el("td", { text: r.report ? r.report.activities + " aktiviteter, " + r.report.participants +
        " deltagare, " + r.report.walks + " pass" : "–" }),
    ]));
    $("nv-grants").append(
      el("h3", { text: a.name + ": bidrag " + sekText(a.budget_sek) }),
      el("table", { class: "nv-table nv-follow-table" }, [
        el("thead", {}, [el("tr", {}, ["Redovisas", "Status", "Avser", "Redovisat"].map((h) => el("th", { text: h })))]),
        el("tbody", {}, rows),
      ]),
    );
  }
  status("");
}

function keyText(by, key) {
  if (key === null) return by === "agreement" ? "Utanför avtal" : "(okänt)";
  if (by === "month") return key;
  if (by === "agreement") return key.name + " (" + (config.kinds[key.kind] || key.kind) + ")";
  return key.name;
}

function followParams() {
  const f = $("nv-follow-query").elements;
  const p = new URLSearchParams({ by: f.by.value, area: area() });
  if (f.since.value) p.set("since", f.since.value);
  if (f.until.value) p.set("until", f.until.value);
  return p;
}

async function showFollowUp() {
  const p = followParams();
  const by = p.get("by");
  $("nv-follow-key").textContent = config.by[by];
  $("nv-follow-query").elements.area.value = area();  // for the CSV and PDF buttons' POST
  const body = $("nv-follow").tBodies[0];
  const foot = $("nv-follow").tFoot;
  let r;
  try { r = await getJSON("/api/v1/follow-up?" + p.toString()); } catch (e) {
    status(e.message, "nv-error");
    return;
  }
  markSynthetic(r);
  body.replaceChildren(...r.rows.map((row) => cells(el("tr"), [
    keyText(by, row[by]), whole.format(row.walks_approved), whole.format(row.walks_reported),
    sekText(row.cost_sek), whole.format(row.walker_nights), whole.format(row.youths_met),
    flagsText(row.flags)], 1)));
  const t = r.totals;
  foot.replaceChildren(cells(el("tr", { "data-total": "all" }), ["Totalt", whole.format(t.walks_approved),
    whole.format(t.walks_reported), sekText(t.cost_sek), whole.format(t.walker_nights),
    whole.format(t.youths_met), ""], 1));
}

$("nv-follow-filter").addEventListener("change", () => { showSummary(); showFollowUp(); });
$("nv-follow-filter").addEventListener("submit", (e) => {
  if (!(e.submitter && e.submitter.name === "format")) e.preventDefault();
});
$("nv-follow-query").addEventListener("submit", (e) => {
  if (e.submitter && e.submitter.name === "format") return;  // a download: the form's POST
  e.preventDefault();
  showFollowUp();
});
$("nv-follow-query").elements.by.addEventListener("change", () => showFollowUp());
Promise.all([showSummary(), showFollowUp()]).then(() => document.body.setAttribute("data-loaded", "1"));
