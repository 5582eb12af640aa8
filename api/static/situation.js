/* nattvandring: the situation map (lägesbild) for walkers and planners.
 *
 * Loads recent deviations from the API, draws tonight's route and the user's own position, and
 * lets a signed-in walker report a deviation in at most three taps. A report gets a client UUID
 * and waits on the device (localStorage) until the server has stored it, so a dead network, a
 * reload or a retry never loses a report and never stores one twice (the server is idempotent on
 * the UUID).
 *
 * Every text that comes from a report is put on the page with textContent, never as HTML.
 * No inline script: the page's Content-Security-Policy allows only scripts from this server.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("nv-config").textContent);
  var map = window[config.map];
  L.control.scale({ imperial: false }).addTo(map);
  var QUEUE_KEY = "nattvandring.pending." + config.user.id;
  var categories = {};
  config.categories.forEach(function (c) { categories[c.code] = c; });

  var state = {
    days: config.default_days,
    category: "",
    reportOpen: false,
    position: null,      // {lat, lon, accuracy_m, source: "gps" | "map"}
    gps: null,           // last GPS fix
    severity: 2,
    flushing: false,
  };

  var el = window.nv.el, uuid4 = window.nv.uuid4, toast = window.nv.toast;
  function $(id) { return document.getElementById(id); }

  var timeFormat = new Intl.DateTimeFormat("sv-SE", {
    timeZone: "Europe/Stockholm", weekday: "short", day: "numeric", month: "short",
    hour: "2-digit", minute: "2-digit",
  });
  var SEVERITY_SV = { 1: "Låg", 2: "Medel", 3: "Hög" };

  function popupFor(props, pending) {
    var box = el("div", { class: "nv-popup" });
    var cat = categories[props.category];
    box.appendChild(el("strong", { text: cat ? cat.name_sv : props.category }));
    box.appendChild(el("div", { text: timeFormat.format(new Date(props.observed_at)) }));
    box.appendChild(el("div", { text: "Allvarlighet: " + (SEVERITY_SV[props.severity] || props.severity) }));
    if (pending) box.appendChild(el("div", { class: "nv-pending-label", text: "väntar på nätet" }));
    if (props.description) box.appendChild(el("p", { class: "nv-description", text: props.description }));
    if (props.synthetic) box.appendChild(el("div", { class: "nv-muted", text: "Syntetisk demodata" }));
    return box;
  }

  // -- layers -----------------------------------------------------------------------------------
  var deviationLayer = L.featureGroup().addTo(map);
  var pendingLayer = L.featureGroup().addTo(map);
  var positionLayer = L.featureGroup().addTo(map);
  var routeLayer = L.featureGroup();
  var layerControl = window[config.layer_control];
  if (layerControl) {
    layerControl.addOverlay(deviationLayer, "Avvikelser");
    layerControl.addOverlay(pendingLayer, "Väntande rapporter");
  }
  if (config.routes && config.routes.features.length) {
    L.geoJSON(config.routes, {
      style: function () { return { color: "#0057b8", weight: 5, opacity: 0.85, className: "nv-route" }; },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        var box = el("div", { class: "nv-popup" }, [
          el("strong", { text: "Kvällens rutt: " + p.name }),
          el("div", { text: (p.organisation || "") + " · " + timeFormat.format(new Date(p.planned_start)) }),
        ]);
        layer.bindPopup(box);
      },
    }).addTo(routeLayer);
    routeLayer.addTo(map);
    if (layerControl) layerControl.addOverlay(routeLayer, "Kvällens rutt");
  }

  function marker(feature, pending) {
    var p = feature.properties;
    var c = feature.geometry.coordinates;
    var cat = categories[p.category];
    var m = L.circleMarker([c[1], c[0]], {
      radius: 4 + 2 * (p.severity || 1),
      color: pending ? "#333333" : "#202020",
      weight: pending ? 2 : 1,
      dashArray: pending ? "3 3" : null,
      fillColor: cat ? cat.colour : "#666666",
      fillOpacity: pending ? 0.5 : 0.9,
      className: pending ? "nv-deviation nv-pending" : "nv-deviation",
    });
    m.bindPopup(popupFor(p, pending));
    m.on("popupopen", function () {
      // While reporting, a tap on an existing report places the new one there instead.
      if (state.reportOpen) { m.closePopup(); setPosition(placeOf(m.getLatLng())); }
    });
    m.feature = feature;
    return m;
  }

  // -- loading deviations -----------------------------------------------------------------------
  var loadSeq = 0;
  function loadDeviations() {
    var seq = ++loadSeq;
    var since = new Date(Date.now() - state.days * 86400000).toISOString();
    var b = map.getBounds().pad(0.5);
    var params = new URLSearchParams({
      since: since,
      bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
        return Math.max(-180, Math.min(180, v)).toFixed(5);
      }).join(","),
      limit: "5000",
    });
    if (state.category) params.append("category", state.category);
    setStatus("Hämtar avvikelser …");
    return fetch("/api/v1/deviations?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/login?next=/"; throw new Error("inte inloggad"); }
        if (!r.ok) throw new Error("servern svarade " + r.status);
        return r.json();
      })
      .then(function (fc) {
        if (seq !== loadSeq) return;
        deviationLayer.clearLayers();
        fc.features.forEach(function (f) { deviationLayer.addLayer(marker(f, false)); });
        var more = fc.numberMatched > fc.numberReturned ? " (de " + fc.numberReturned + " senaste av " + fc.numberMatched + ")" : "";
        setStatus(fc.features.length + " avvikelser senaste " + labelDays(state.days) + more);
        document.body.setAttribute("data-deviations", String(fc.features.length));
      })
      .catch(function (err) {
        if (seq !== loadSeq) return;
        setStatus("Kunde inte hämta avvikelser just nu (" + err.message + ").");
      });
  }
  function labelDays(d) { return d === 1 ? "24 h" : d + " dygn"; }

  var statusLine = $("nv-status");
  function setStatus(text) { statusLine.textContent = text; }

  // -- filters ------------------------------------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("[data-days]"), function (btn) {
    btn.addEventListener("click", function () {
      state.days = Number(btn.getAttribute("data-days"));
      Array.prototype.forEach.call(document.querySelectorAll("[data-days]"), function (b) {
        b.classList.toggle("nv-active", b === btn);
      });
      loadDeviations();
    });
  });
  var categorySelect = $("nv-category");
  config.categories.forEach(function (c) {
    categorySelect.appendChild(el("option", { value: c.code, text: c.name_sv }));
  });
  categorySelect.addEventListener("change", function () {
    state.category = categorySelect.value;
    loadDeviations();
  });
  var moveTimer = null;
  map.on("moveend", function () {
    clearTimeout(moveTimer);
    moveTimer = setTimeout(loadDeviations, 300);
  });

  // -- own position -------------------------------------------------------------------------------
  var gpsMarker = null, gpsCircle = null, watchId = null;
  function startGps() {
    if (!("geolocation" in navigator) || watchId !== null) return;
    watchId = navigator.geolocation.watchPosition(function (pos) {
      var fix = { lat: pos.coords.latitude, lon: pos.coords.longitude,
                  accuracy_m: Math.round(pos.coords.accuracy), source: "gps" };
      state.gps = fix;
      var ll = [fix.lat, fix.lon];
      if (!gpsMarker) {
        gpsCircle = L.circle(ll, { radius: fix.accuracy_m, weight: 1, color: "#1a73e8", fillOpacity: 0.1 }).addTo(positionLayer);
        gpsMarker = L.circleMarker(ll, { radius: 7, color: "#ffffff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1, className: "nv-me" }).addTo(positionLayer);
      } else {
        gpsMarker.setLatLng(ll); gpsCircle.setLatLng(ll); gpsCircle.setRadius(fix.accuracy_m);
      }
      if (state.reportOpen && (!state.position || state.position.source === "gps")) setPosition(fix);
    }, function () {
      state.gps = null;
      if (state.reportOpen && !state.position) renderPosition();
    }, { enableHighAccuracy: true, maximumAge: 15000, timeout: 20000 });
  }
  $("nv-locate").addEventListener("click", function () {
    startGps();
    if (state.gps) map.setView([state.gps.lat, state.gps.lon], Math.max(map.getZoom(), 16));
  });

  // -- reporting ------------------------------------------------------------------------------------
  var sheet = $("nv-report");
  var pickMarker = null;

  function setPosition(pos) {
    state.position = pos;
    var ll = [pos.lat, pos.lon];
    if (!pickMarker) {
      pickMarker = L.marker(ll, { title: "Avvikelsens plats", keyboard: false }).addTo(positionLayer);
    } else {
      pickMarker.setLatLng(ll);
    }
    renderPosition();
  }

  function renderPosition() {
    var line = $("nv-report-position");
    var ready = !!state.position;
    if (!state.position) {
      line.textContent = "Tryck på kartan där det hände" + ("geolocation" in navigator ? " (eller vänta på GPS)" : "");
    } else if (state.position.source === "gps") {
      line.textContent = "Plats: din GPS-position, ±" + state.position.accuracy_m + " m. Tryck på kartan för att ändra.";
    } else {
      line.textContent = "Plats: vald på kartan. Tryck igen för att flytta.";
    }
    Array.prototype.forEach.call(sheet.querySelectorAll("[data-category]"), function (b) {
      b.disabled = !ready;
    });
  }

  function openReport() {
    state.reportOpen = true;
    state.position = null;
    sheet.hidden = false;
    document.body.classList.add("nv-reporting");
    $("nv-report-error").textContent = "";
    startGps();
    if (state.gps) setPosition(state.gps); else renderPosition();
  }
  function closeReport() {
    state.reportOpen = false;
    sheet.hidden = true;
    document.body.classList.remove("nv-reporting");
    if (pickMarker) { positionLayer.removeLayer(pickMarker); pickMarker = null; }
    $("nv-note").value = "";
  }
  if ($("nv-report-open")) $("nv-report-open").addEventListener("click", openReport);
  $("nv-report-cancel").addEventListener("click", closeReport);
  function placeOf(latlng) { return { lat: latlng.lat, lon: latlng.lng, accuracy_m: null, source: "map" }; }
  map.on("click", function (e) {
    if (state.reportOpen) setPosition(placeOf(e.latlng));
  });
  Array.prototype.forEach.call(sheet.querySelectorAll("[data-severity]"), function (b) {
    b.addEventListener("click", function () {
      state.severity = Number(b.getAttribute("data-severity"));
      Array.prototype.forEach.call(sheet.querySelectorAll("[data-severity]"), function (o) {
        o.classList.toggle("nv-active", o === b);
      });
    });
  });
  var grid = $("nv-report-categories");
  config.categories.forEach(function (c) {
    var swatch = el("span", { class: "nv-swatch" });
    swatch.style.background = c.colour;  // CSSOM, not a style attribute (CSP)
    var b = el("button", { type: "button", "data-category": c.code, class: "nv-cat" }, [
      swatch, el("span", { text: c.name_sv }),
    ]);
    b.addEventListener("click", function () { submitReport(c.code); });
    grid.appendChild(b);
  });

  function submitReport(category) {
    if (!state.position) return;
    var note = $("nv-note").value.trim();
    var props = {
      id: uuid4(),
      category: category,
      observed_at: new Date().toISOString(),
      severity: state.severity,
    };
    if (note) props.description = note;
    if (state.position.source === "gps" && state.position.accuracy_m != null) {
      props.accuracy_m = state.position.accuracy_m;
    }
    var feature = {
      type: "Feature",
      geometry: { type: "Point", coordinates: [round6(state.position.lon), round6(state.position.lat)] },
      properties: props,
    };
    var queue = readQueue();
    queue.push({ feature: feature, queued_at: new Date().toISOString() });
    writeQueue(queue);
    closeReport();
    renderPending();
    flushQueue();
  }
  function round6(v) { return Math.round(v * 1e6) / 1e6; }

  // -- the queue of reports waiting for the network -------------------------------------------------
  function readQueue() {
    try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }
  function writeQueue(q) { localStorage.setItem(QUEUE_KEY, JSON.stringify(q)); }
  function removeFromQueue(id) {
    writeQueue(readQueue().filter(function (item) { return item.feature.properties.id !== id; }));
  }

  function renderPending() {
    var q = readQueue();
    pendingLayer.clearLayers();
    q.forEach(function (item) { pendingLayer.addLayer(marker(item.feature, true)); });
    var badge = $("nv-pending");
    badge.hidden = q.length === 0;
    badge.textContent = q.length === 1 ? "1 rapport väntar på nätet" : q.length + " rapporter väntar på nätet";
    document.body.setAttribute("data-pending", String(q.length));
  }

  function flushQueue() {
    // The browser knows it has no network: wait for its "online" event instead of trying.
    if (state.flushing || navigator.onLine === false) return Promise.resolve();
    var q = readQueue();
    if (!q.length) return Promise.resolve();
    state.flushing = true;
    var chain = Promise.resolve();
    q.forEach(function (item) {
      chain = chain.then(function () { return send(item.feature); });
    });
    return chain.catch(function () { /* offline: try again later */ }).then(function () {
      state.flushing = false;
      renderPending();
    });
  }

  /* Why the server refused a report, in Swedish for the mistakes a walker can make; the API's
   * own (English) message otherwise. */
  var REFUSED_SV = {
    geometry: "positionen ligger mer än 2 km från alla områden. Kontrollera positionen.",
    observed_at: "tiden godtogs inte. Kontrollera att telefonens klocka går rätt.",
    category: "kategorin finns inte längre. Välj en annan.",
    description: "anteckningen är för lång (högst 2 000 tecken).",
  };
  function reportErrorText(body, status) {
    var d = body && body.detail;
    var loc = Array.isArray(d) && d.length && d[0].loc ? d[0].loc : [];
    var field = loc.length ? loc[loc.length - 1] : null;
    if (status === 422 && field === "geometry" && /swapped/.test(d[0].msg)) {
      return "koordinaterna verkar omkastade (longitud och latitud).";
    }
    return (status === 422 && REFUSED_SV[field]) || window.nv.errorText(body, status);
  }

  function send(feature) {
    return fetch("/api/v1/deviations", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Requested-With": "nattvandring" },
      body: JSON.stringify(feature),
    }).then(function (r) {
      if (r.status === 200 || r.status === 201) {
        return r.json().then(function (stored) {
          removeFromQueue(feature.properties.id);
          deviationLayer.addLayer(marker(stored, false));
          toast("Avvikelsen är sparad.", "nv-ok");
        });
      }
      if (r.status === 401) {
        toast("Logga in igen för att skicka väntande rapporter.", "nv-error");
        throw new Error("unauthorised");
      }
      if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) {
        // The server will never take this report as it is: say why and drop it.
        return r.json().then(function (body) {
          removeFromQueue(feature.properties.id);
          toast("Rapporten kunde inte sparas: " + reportErrorText(body, r.status), "nv-error");
        });
      }
      throw new Error("server " + r.status);  // 5xx, 408, 429: keep it and retry later
    });
  }

  window.addEventListener("online", flushQueue);
  setInterval(flushQueue, 20000);

  // -- heat map and hot spots ----------------------------------------------------------------------
  var analysisForm = $("nv-analysis-form");
  if (analysisForm && window.nvAnalysis && layerControl) {
    window.nvAnalysis(map, layerControl, { area: config.area, form: analysisForm });
  }

  // -- start ----------------------------------------------------------------------------------------
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* works without it */ });
    var offlineReady = function () {
      if (navigator.serviceWorker.controller) document.body.setAttribute("data-offline-ready", "1");
    };
    navigator.serviceWorker.addEventListener("controllerchange", offlineReady);
    offlineReady();
  }
  renderPending();
  loadDeviations();
  flushQueue();
  window.nattvandring = { map: map, deviationLayer: deviationLayer, flushQueue: flushQueue, loadDeviations: loadDeviations };
})();
