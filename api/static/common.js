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

  /* The message of an API error body: FastAPI's list of {msg} or a plain detail. */
  function errorText(body, status) {
    var d = body && body.detail;
    if (Array.isArray(d)) return d.map(function (x) { return x.msg; }).join("; ");
    return d ? String(d) : "fel " + status;
  }

  window.nv = { el: el, uuid4: uuid4, toast: toast, errorText: errorText };
})();
