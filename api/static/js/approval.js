/* nattvandring: approving and rejecting reported walks on the planners' walks page.
 *
 * One walk: "Godkänn" (POST /api/v1/walks/{id}/approve) and "Avslå" with a reason typed in the
 * page (POST …/reject); many: the checked walks of the list with "Godkänn markerade"
 * (POST /api/v1/walks/approve). The approval's answer is said in Swedish: paid under which
 * agreement and how much, outside every agreement (not paid), or part of a grant. Text only
 * (textContent); error texts come from api.js.
 */
import { api, errorText } from "./api.js";
import { el } from "./ui.js";

const kr = new Intl.NumberFormat("sv-SE", { maximumFractionDigits: 0 });
const FLAGS_SV = {
  short_of_walkers: "färre vandrare än avtalet kräver",
  before_signed: "före avtalet undertecknades",
};

/** "1 700 kr" (a space between thousands, as Swedish writes it). */
export function krText(sek) { return kr.format(sek) + " kr"; }

/** The approval's answer in Swedish: "Godkänd – 1 700 kr enligt IOP nattvandring hösten 2024". */
export function approvalText(approval) {
  let text;
  if (approval.status === "paid") {
    text = "Godkänd – " + krText(approval.amount_sek) + " enligt " + approval.agreement.name;
  } else if (approval.status === "grant") {
    text = "Godkänd – ingår i bidraget enligt " + approval.agreement.name + " (ingen ersättning per pass)";
  } else {
    text = "Godkänd men utanför avtal – betalas inte";
  }
  const flags = (approval.flags || []).filter((f) => FLAGS_SV[f]).map((f) => FLAGS_SV[f]);
  return flags.length ? text + " (" + flags.join(", ") + ")" : text;
}

/** How a walk already decided stands: approved under which agreement, or rejected and why. */
export function decisionText(walk) {
  if (walk.status === "approved") {
    return walk.agreement ? "Godkänd enligt " + walk.agreement.name : "Godkänd men utanför avtal – betalas inte";
  }
  if (walk.status === "rejected") return "Avslagen: " + (walk.reject_reason || "");
  return "";
}

/** The decision section of one walk: the buttons for a reported walk, the outcome otherwise.
 * ``onDone(walk)`` runs after a decision, with the walk as it is now. */
export function decisionSection(walk, onDone) {
  const box = el("section", { class: "nv-decision", "data-decision": walk.status }, [el("h3", { text: "Beslut" })]);
  const answer = el("p", { class: "nv-decision-answer", role: "status" });
  const said = decisionText(walk);
  if (said) answer.textContent = said;
  if (walk.status !== "reported") {
    box.appendChild(answer);
    return box;
  }
  const approve = el("button", { type: "button", class: "nv-approve", text: "Godkänn" });
  const reject = el("button", { type: "button", class: "nv-reject", text: "Avslå" });
  const buttons = el("div", { class: "nv-decision-buttons" }, [approve, reject]);
  const reason = el("textarea", { name: "reason", maxlength: "500", rows: "2", required: "",
    "aria-label": "Orsak till avslaget", placeholder: "Varför avslås passet? (föreningen ser orsaken)" });
  const send = el("button", { type: "submit", text: "Avslå passet" });
  const cancel = el("button", { type: "button", text: "Avbryt" });
  const form = el("form", { class: "nv-reject-form nv-form" }, [reason, el("div", {}, [send, cancel])]);
  form.hidden = true;

  function busy(on) { [approve, reject, send, cancel].forEach((b) => { b.disabled = on; }); }
  approve.addEventListener("click", async () => {
    busy(true);
    answer.className = "nv-decision-answer";
    answer.textContent = "Godkänner …";
    try {
      const r = await api("POST", "/api/v1/walks/" + walk.id + "/approve");
      answer.textContent = approvalText(r.approval);
      answer.classList.add("nv-ok");
      box.setAttribute("data-decision", "approved");
      buttons.hidden = true;
      form.hidden = true;
      onDone(r.walk);
    } catch (err) {
      answer.textContent = "Kunde inte godkänna: " + err.message;
      answer.classList.add("nv-error");
      busy(false);
    }
  });
  reject.addEventListener("click", () => { form.hidden = false; reason.focus(); });
  cancel.addEventListener("click", () => { form.hidden = true; });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) { reason.focus(); return; }
    busy(true);
    try {
      const w = await api("POST", "/api/v1/walks/" + walk.id + "/reject", { reason: reason.value.trim() });
      answer.className = "nv-decision-answer nv-ok";
      answer.textContent = decisionText(w);
      box.setAttribute("data-decision", "rejected");
      buttons.hidden = true;
      form.hidden = true;
      onDone(w);
    } catch (err) {
      answer.className = "nv-decision-answer nv-error";
      answer.textContent = "Kunde inte avslå: " + err.message;
      busy(false);
    }
  });
  box.append(buttons, form, answer);
  return box;
}

const BULK_SV = { paid: "betalda", grant: "inom bidrag", outside_agreement: "utanför avtal" };

/** Approve the walks ``ids`` at once; the summary in Swedish ("2 godkända (1 betalda, 1 utanför
 * avtal); 1 kunde inte godkännas: …") and the results. */
export async function approveMany(ids) {
  const { results } = await api("POST", "/api/v1/walks/approve", { ids });
  const done = results.filter((r) => r.status !== "refused");
  const refused = results.filter((r) => r.status === "refused");
  const counts = {};
  done.forEach((r) => { counts[r.status] = (counts[r.status] || 0) + 1; });
  const parts = Object.entries(counts).map(([s, n]) => n + " " + (BULK_SV[s] || s));
  let text = done.length + " godkända" + (parts.length ? " (" + parts.join(", ") + ")" : "");
  if (refused.length) {
    const why = [...new Set(refused.map((r) => errorText({ detail: r.detail, code: r.code }, 409)))].join("; ");
    text += "; " + refused.length + " kunde inte godkännas: " + why;
  }
  return { text, results };
}
