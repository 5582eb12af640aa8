/* nattvandring: small DOM helpers shared by the pages. Text only: nothing here ever turns a
 * string into HTML (user text reaches a page through textContent). */

/** An element with attributes ("text" sets textContent, "class" the class) and children. */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.appendChild(c);
  return node;
}

export function $(id) { return document.getElementById(id); }

let toastTimer = null;
/** A short message in the page's #nv-toast; kind "nv-ok" or "nv-error". */
export function toast(text, kind = "") {
  const t = $("nv-toast");
  t.textContent = text;
  t.className = "nv-toast " + kind;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 7000);
}

/** The page's config: the JSON in <script type="application/json" id="nv-config">. */
export function pageConfig() {
  return JSON.parse($("nv-config").textContent);
}

/** A Swedish Intl.DateTimeFormat made when it is first used: the first one a page makes costs
 * tens of milliseconds of a phone's CPU (its locale and time-zone data), which should not stand
 * before the first map drawn. Has ``format(date)``. */
export function lazyFormat(options) {
  let made = null;
  return {
    format(date) {
      if (!made) made = new Intl.DateTimeFormat("sv-SE", options);
      return made.format(date);
    },
  };
}

export const timeFormat = lazyFormat({
  timeZone: "Europe/Stockholm", weekday: "short", day: "numeric", month: "short",
  hour: "2-digit", minute: "2-digit",
});
