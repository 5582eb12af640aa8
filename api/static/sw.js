/* nattvandring service worker: the situation map opens without a network.
 *
 * The page and its scripts are served network-first and kept in a cache, so a walker who
 * reloads with no connection still gets the map, the last deviations fetched and the reports
 * waiting on the device (those live in localStorage, not here). Reports are never sent from
 * here: POSTs pass straight through. Base-map tiles from other hosts are not cached.
 */
"use strict";
var CACHE = "nattvandring-v3";
// What the map page needs to open with no network (the page itself is per user: it is fetched
// with the user's session cookie and dropped again when the sign-in page loads).
var SHELL = [
  "/",
  "/static/common.js",
  "/static/situation.js",
  "/static/analysis.js",
  "/static/map.css",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet/leaflet.css",
  "/static/vendor/leaflet/images/marker-icon.png",
  "/static/vendor/leaflet/images/marker-icon-2x.png",
  "/static/vendor/leaflet/images/marker-shadow.png",
  "/static/vendor/leaflet/images/layers.png",
  "/static/vendor/leaflet/images/layers-2x.png",
];

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
         url.pathname === "/api/v1/deviations" || url.pathname === "/api/v1/categories";
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
