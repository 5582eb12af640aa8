/* nattvandring: the one way the pages talk to the API.
 *
 * Requests carry the session cookie and the X-Requested-With header (the API refuses cookie
 * writes without it); answers are JSON. An error body is either FastAPI's 422,
 * {"detail": [{"loc", "msg", "type", "ctx"}]}, or {"detail": "…", "code": …}; errorText turns
 * either into Swedish where the error has a code we know.
 */

const WHAT_SV = { start: "Startpunkten", end: "Slutpunkten", candidates: "Ett obligatoriskt stopp" };

/* Swedish texts for the API's error codes ("type" of a 422 item, "code" of other errors), with
 * the figures the API sends in "ctx". */
const ERRORS_SV = {
  not_near_network(x) {
    const field = x.loc && x.loc.length ? x.loc[x.loc.length - 1] : null;
    return (WHAT_SV[field] || "En punkt") + " ligger " + x.ctx.distance_m +
      " m från närmaste gata i gatunätet. Flytta den närmare en gata (eller importera ett " +
      "gatunät som täcker platsen).";
  },
  budget_too_short(x) {
    return "Tiden räcker inte: öka den med minst " + x.ctx.shortfall_min +
      " min eller ta bort obligatoriska stopp.";
  },
  no_route() { return "Ingen gångväg i gatunätet förbinder punkterna."; },
  invalid_gpx(x) { return "GPX-filen kunde inte läsas (" + x.msg + ")."; },
  // The API's message is Swedish and names the import command for the area.
  network_not_imported(x) {
    return x.msg && x.msg !== "undefined" ? x.msg :
      "Inget gatunät är importerat för området: importera ett OpenStreetMap-utdrag först.";
  },
  lonlat_swapped() { return "Koordinaterna verkar omkastade (longitud och latitud)."; },
  far_from_areas() { return "Platsen ligger mer än 2 km från alla kända områden."; },
  time_in_future() { return "Tiden ligger i framtiden: kontrollera klockan."; },
  time_too_old() { return "Tiden ligger för långt tillbaka."; },
  unknown_category() { return "Kategorin finns inte."; },
  too_long(x) {
    return "Texten är för lång" + (x.ctx && x.ctx.max_length ? " (högst " + x.ctx.max_length + " tecken)." : ".");
  },
  key_reused() { return "Nyckeln har redan använts för något annat: ladda om sidan och försök igen."; },
  too_large() { return "Det som skickades är för stort."; },
  unsupported_media_type() { return "Fel format på det som skickades."; },
  unauthorized() { return "Logga in igen."; },
  too_many_attempts() { return "För många försök: vänta en stund och försök igen."; },
  // The walks (issue "Walks").
  report_exists() {
    return "Passet är redan återrapporterat. Den som rapporterade kan rätta rapporten.";
  },
  walk_cancelled() { return "Passet är inställt: det går inte att starta eller rapportera."; },
  not_your_club() { return "Passet hör till en annan förening."; },
  walk_not_ongoing() { return "Vandringen pågår inte: avvikelsen kopplas inte till den."; },
  // Organisations and agreements (issue 13).
  stale_version() { return "Någon annan har ändrat detta under tiden: ladda om och gör ändringen igen."; },
  name_taken() { return "Namnet är redan upptaget: välj ett annat."; },
  unknown_organisation(x) {
    return "Organisationen " + (x.ctx && x.ctx.name ? "”" + x.ctx.name + "” " : "") +
      "finns inte: lägg till den först.";
  },
  part_of_cycle() { return "En organisation kan inte ingå i sig själv eller i en som ingår i den."; },
  period_reversed() { return "Perioden slutar innan den börjar."; },
  rate_missing() { return "Ange ersättningen per genomförd nattvandring (kr)."; },
  budget_missing() { return "Ange bidragets belopp (kr) för hela perioden."; },
  reporting_dates_not_for_per_walk() {
    return "Redovisningsdatum gäller bara bidrag, inte ersättning per nattvandring.";
  },
  reporting_date_outside() {
    return "Ett redovisningsdatum ligger utanför perioden och året efter den.";
  },
  signed_before_decided() { return "Avtalet kan inte undertecknas innan det är beslutat."; },
  unknown_area() { return "Området finns inte."; },
  unknown_agreement() { return "Avtalet som förlängs finns inte."; },
  agreement_overlap(x) {
    return "Perioden överlappar " + (x.ctx && x.ctx.other ? "”" + x.ctx.other + "”" : "ett annat avtal") +
      ", som har en gemensam part (eller den organisation parten ingår i).";
  },
  reporting_date_has_report() { return "Redovisningsdatumet har en redovisning och kan inte tas bort."; },
  not_a_grant() { return "Avtalet ersätts per nattvandring: bara bidrag redovisas på datum."; },
  not_a_reporting_date() { return "Datumet är inget av avtalets redovisningsdatum."; },
  grant_report_exists() { return "Redovisningsdatumet har redan en redovisning."; },
  // Approval and the ledger (issue 13).
  not_reported() {
    return "Passet är inte återrapporterat (eller redan avslaget): bara återrapporterade pass kan godkännas eller avslås.";
  },
  own_walk() { return "Du har själv återrapporterat passet: en annan planerare måste besluta om det."; },
  own_club() {
    return "Passet hör till din egen organisation: någon från en annan organisation måste besluta om det.";
  },
  agreement_does_not_cover() { return "Avtalet täcker inte passet (datumet eller föreningen)."; },
  not_approved() { return "Passet är inte godkänt: det finns inget godkännande att återkalla."; },
  not_found() { return "Det finns inte (eller har tagits bort)."; },
  // The admins' pages (issue 13, "admin").
  email_taken() { return "Det finns redan ett konto med den e-postadressen."; },
  own_account() {
    return "Du kan inte stänga av eller ta bort administratörsrollen från ditt eget konto: " +
      "be en annan administratör.";
  },
  invalid_phone() {
    return "Det är inget telefonnummer: använd siffror, mellanslag och bindestreck, " +
      "gärna med + först (t.ex. 08-508 000 00).";
  },
  phone_required() { return "Polisens nummer och nödnumret måste finnas."; },
  category_exists() { return "Det finns redan en kategori med den koden."; },
  // The night map (issue 14) and the service's own states.
  withdrawn() { return "Rapporten är ångrad och sparas inte igen."; },
  too_late_to_withdraw() { return "Det har gått mer än 10 minuter: be en planerare avfärda rapporten i stället."; },
  too_late_to_correct() { return "Det har gått mer än ett dygn: be en planerare rätta rapporten i stället."; },
  already_triaged() {
    return "En planerare har redan bekräftat eller avfärdat rapporten: be planeraren ändra den.";
  },
  database_unavailable() { return "Tjänsten är inte tillgänglig just nu. Försök igen om en stund."; },
  server_busy() { return "Tjänsten har mycket att göra just nu. Försök igen om en stund."; },
  internal() { return "Något gick fel i tjänsten. Försök igen om en stund."; },
  cross_site_request() { return "Begäran kom inte från sidan själv: ladda om sidan och försök igen."; },
  conflict() { return "Något ändrades samtidigt: ladda om och försök igen."; },
  invalid_value() { return "Ett värde kan inte sparas: kontrollera uppgifterna."; },
  // Route plans with opening hours (issue 15).
  closed_during_walk() {
    return "Ett obligatoriskt stopp är stängt under vandringen (eller går inte att hinna till medan det är öppet): " +
      "välj en annan starttid, fler grupper eller ta bort stoppet.";
  },
};

/* A Swedish text by status when the error has no code this page knows: never the API's English
 * message on a walker's screen. */
const STATUS_SV = {
  400: "Begäran kunde inte utföras.",
  401: "Logga in igen.",
  403: "Ditt konto får inte göra detta.",
  404: "Det finns inte (eller har tagits bort).",
  409: "Det krockar med något som redan är sparat: ladda om och försök igen.",
  410: "Det är borttaget.",
  413: "Det som skickades är för stort.",
  422: "Uppgifterna kunde inte tas emot: kontrollera dem.",
  429: "För många försök: vänta en stund och försök igen.",
  503: "Tjänsten är inte tillgänglig just nu. Försök igen om en stund.",
};
function statusText(status) {
  return STATUS_SV[status] || (status >= 500 ? "Något gick fel i tjänsten (fel " + status + "). Försök igen om en stund."
                                             : "Begäran kunde inte utföras (fel " + status + ").");
}

/** The message of an API error body in Swedish: by the error's code where the page knows it,
 * by its status otherwise (the API's own messages are English, for programs). */
export function errorText(body, status) {
  const d = body && body.detail;
  if (Array.isArray(d)) {
    const known = d.filter((x) => ERRORS_SV[x.type]).map((x) => ERRORS_SV[x.type](x));
    return known.length ? [...new Set(known)].join("; ") : statusText(status);
  }
  if (body && ERRORS_SV[body.code]) return ERRORS_SV[body.code]({ msg: String(d), ctx: body.ctx });
  return statusText(status);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(errorText(body, status));
    this.status = status;
    this.body = body;
  }
}

/** One request; resolves to {status, ok, data, etag, retryAfter, fromCache, fetchedAt} whatever
 * the status (data: the JSON body, or null; etag and retryAfter: those headers, or null;
 * fromCache: the service worker answered from its cache, fetched at fetchedAt), rejects only when
 * there is no answer at all (no network). A 304 (to an If-None-Match the caller sent) has no data. */
export async function call(method, url, { json, body, headers = {} } = {}) {
  const h = { "X-Requested-With": "nattvandring", ...headers };
  if (json !== undefined) h["Content-Type"] = "application/json";
  const r = await fetch(url, {
    method, credentials: "same-origin", headers: h,
    body: json !== undefined ? JSON.stringify(json) : body,
  });
  let data = null;
  if (r.status !== 204 && r.status !== 304) data = await r.json().catch(() => null);
  // The service worker (sw.js) marks an answer it gave from its cache, and stamps when it was
  // fetched: the page says how old what it shows is.
  const fromCache = r.headers.get("X-Nv-From-Cache") === "1";
  const fetchedAt = fromCache && r.headers.get("X-Nv-Fetched-At")
    ? new Date(r.headers.get("X-Nv-Fetched-At")) : new Date();
  return {
    status: r.status, ok: r.ok, data,
    etag: r.headers.get("ETag"), retryAfter: Number(r.headers.get("Retry-After")) || null,
    fromCache, fetchedAt,
  };
}

/** A request whose error answers throw an ApiError with the Swedish message. */
export async function api(method, url, json, headers) {
  const r = await call(method, url, { json, headers });
  if (!r.ok) throw new ApiError(r.status, r.data);
  return r.data;
}

export function getJSON(url) { return api("GET", url); }
