/* nattvandring: what the admins' pages share: the status line (errors from the API in Swedish,
 * via api.js), a table row builder and a form's values. Text only (textContent). */
import { ApiError } from "../js/api.js";
import { $, el } from "../js/ui.js";

/** Show ``text`` in the page's status line; kind "nv-ok" or "nv-error". */
export function say(text, kind = "nv-ok") {
  const s = $("nv-admin-status");
  s.textContent = text;
  s.className = "nv-admin-status " + kind;
  s.hidden = false;
}

/** Run an API call; its error (in Swedish where the code is known) goes to the status line.
 * Resolves to the call's answer, or undefined after an error. */
export async function attempt(work, done) {
  try {
    const answer = await work();
    if (done) say(done);
    return answer;
  } catch (exc) {
    say(exc instanceof ApiError ? exc.message : "Ingen kontakt med servern: försök igen.", "nv-error");
    return undefined;
  }
}

/** A table cell: a text, or the given nodes. */
export function cell(content) {
  if (content instanceof Node) return el("td", {}, [content]);
  if (Array.isArray(content)) return el("td", {}, content);
  return el("td", { text: content === null || content === undefined ? "" : String(content) });
}

/** A <select> of ``choices`` ({value: label}) with ``value`` chosen. */
export function select(choices, value, label) {
  const s = el("select", { "aria-label": label });
  for (const [v, text] of Object.entries(choices)) {
    const o = el("option", { value: v, text });
    if (v === value) o.selected = true;
    s.appendChild(o);
  }
  return s;
}

/** The trimmed text values of a form, by name ("" for an empty field). */
export function values(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) out[k] = typeof v === "string" ? v.trim() : v;
  return out;
}

/** Fill a <datalist> with names. */
export function fillList(id, names) {
  const list = $(id);
  list.replaceChildren(...names.map((n) => el("option", { value: n })));
}

/** "a, b , c" → ["a", "b", "c"]. */
export function splitList(text) {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}
