/* nattvandring service worker: the situation map opens without a network.
 *
 * The page, its modules and the layers it fetches (districts, zones, places, categories,
 * deviations) are served network-first and kept in a cache, so a walker who reloads with no
 * connection still gets the map, its layers, the last deviations fetched and the reports
 * waiting on the device (those live in localStorage, not here). Reports are never sent from
 * here: POSTs pass straight through. Base-map tiles from other hosts are not cached.
 */
"use strict";
var CACHE = "nattvandring-v5";
// What the map page needs to open with no network (the page itself is per user: it is fetched
// with the user's session cookie and dropped again when the sign-in page loads).
var SHELL = [
  "/",
  "/static/situation.js",
  "/static/js/analysis.js",
  "/static/js/api.js",
  "/static/js/map.js",
  "/static/js/queue.js",
  "/static/js/ui.js",
  "/static/js/walk.js",
  "/static/map.css",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet/leaflet.css",
  "/static/vendor/leaflet/images/marker-icon.png",
  "/static/vendor/leaflet/images/marker-icon-2x.png",
  "/static/vendor/leaflet/images/marker-shadow.png",
  "/static/vendor/leaflet/images/layers.png",
  "/static/vendor/leaflet/images/layers-2x.png",
  // The layers the map fetches (public, the same for every user).
  "/api/v1/areas",
  "/api/v1/zones",
  "/api/v1/places",
];
// API answers kept for the map (the deviations whatever their query: the last one fetched).
var API_CACHED = ["/api/v1/deviations", "/api/v1/categories", "/api/v1/areas", "/api/v1/zones",
                  "/api/v1/places"];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
      .then(function () { return self.skipWaiting(); })
  );
});
self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function cacheable(request) {
  if (request.method !== "GET") return false;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  return url.pathname === "/" || url.pathname.indexOf("/static/") === 0 ||
         API_CACHED.indexOf(url.pathname) >= 0;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (!cacheable(request)) return;
  event.respondWith(
    fetch(request).then(function (response) {
      // Keep only real pages: not a redirect to the sign-in page, not an error.
      if (response.ok && !response.redirected && response.type === "basic") {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, { ignoreSearch: new URL(request.url).pathname === "/api/v1/deviations" })
        .then(function (hit) { return hit || Response.error(); });
    })
  );
});
