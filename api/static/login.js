/* The sign-in page: forget what the offline cache kept of the last user's map. */
"use strict";
if (window.caches && caches.keys) {
  caches.keys().then(function (keys) { keys.forEach(function (k) { caches.delete(k); }); });
}
