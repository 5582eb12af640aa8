/* The sign-in page: forget what the offline cache kept of the last user's map. */
if (window.caches && caches.keys) {
  caches.keys().then((keys) => keys.forEach((k) => caches.delete(k)));
}
