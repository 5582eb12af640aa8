/* nattvandring: small helpers shared by the pages' scripts (window.nv). Text only: nothing here
 * ever turns a string into HTML. */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  /* A random (version 4) UUID; crypto.randomUUID exists only on secure origins. */
  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /* A short message in the page's #nv-toast; kind "nv-ok" or "nv-error". */
  function toast(text, kind) {
    var t = document.getElementById("nv-toast");
    t.textContent = text;
    t.className = "nv-toast " + (kind || "");
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, 7000);
  }

  /* Swedish texts for the API's error codes ("type" of a 422 item, "code" of other errors),
   * with the figures the API sends in "ctx". Errors without a code keep the API's message. */
  var WHAT_SV = { start: "Startpunkten", end: "Slutpunkten", candidates: "Ett obligatoriskt stopp" };
  var ERRORS_SV = {
    not_near_network: function (x) {
      var field = x.loc && x.loc.length ? x.loc[x.loc.length - 1] : null;
      return (WHAT_SV[field] || "En punkt") + " ligger " + x.ctx.distance_m +
        " m från närmaste gata i gatunätet. Flytta den närmare en gata (eller importera ett " +
        "gatunät som täcker platsen).";
    },
    budget_too_short: function (x) {
      return "Tiden räcker inte: öka den med minst " + x.ctx.shortfall_min +
        " min eller ta bort obligatoriska stopp.";
    },
    no_route: function () { return "Ingen gångväg i gatunätet förbinder punkterna."; },
    invalid_gpx: function (x) { return "GPX-filen kunde inte läsas (" + x.msg + ")."; },
    network_not_imported: function () {
      return "Inget gatunät är importerat för området: importera ett OpenStreetMap-utdrag först.";
    },
  };

  /* The message of an API error body: FastAPI's list of {msg} or a plain detail, in Swedish
   * where the error has a code we know. */
  function errorText(body, status) {
    var d = body && body.detail;
    if (Array.isArray(d)) {
      return d.map(function (x) { return ERRORS_SV[x.type] ? ERRORS_SV[x.type](x) : x.msg; })
        .join("; ");
    }
    if (body && ERRORS_SV[body.code]) return ERRORS_SV[body.code]({ msg: String(d) });
    return d ? String(d) : "fel " + status;
  }

  window.nv = { el: el, uuid4: uuid4, toast: toast, errorText: errorText };
})();
