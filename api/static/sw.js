/* nattvandring service worker: the situation map opens without a network, and on lie-fi.
 *
 * The layers the page fetches (districts, zones, places, categories, deviations) are served
 * network first and kept in a cache with the page and its modules (versioned: cache first), so
 * a walker who reloads with no connection still gets the map, its layers, the deviations last
 * fetched and the reports waiting on the device (those live in localStorage, not here). A
 * network that does not answer within NETWORK_TIMEOUT_MS (lie-fi: connected, but nothing comes
 * back) is not waited for: the cached copy is answered, and the network's late answer still
 * refreshes the cache.
 *
 * The page itself (the app shell, with its first deviation list) is answered from the cache at
 * once when the copy kept is younger than PAGE_STALE_MS and of this worker's version of the
 * static files, with the theme of now on <html> (the cookie nv_theme, read with the Cookie
 * Store API; a browser without it gets the page network first), while the network is asked in
 * the background (stale-while-revalidate): the network's page is kept for the next visit, and
 * a redirect (the session ended: to the sign-in page) or a page of another version (a release)
 * drops the copy. The page shows its reports at once, labelled with when they are from
 * ("senast uppdaterad 21:05 · … · hämtar nytt …"), and asks for the list again at once
 * (If-None-Match): a session that ended meanwhile gets its 401 there and goes to the sign-in
 * page, which empties these caches. An older copy (tonight's routes and the config travel with
 * the page) is answered network first, as the layers.
 *
 * Deviations are cached per query (their URL), never one entry for every query: an answer from
 * the cache is the one of the same filters, or else of a wider one (a longer period, all
 * categories, a larger box) that the page filters down itself. Every cached answer carries the
 * time it was fetched (X-Nv-Fetched-At) and says that it comes from here (X-Nv-From-Cache), so
 * that the page can say "offline – senast uppdaterad 21:05". Reports are never sent from here:
 * POSTs pass straight through.
 *
 * Base-map tiles the walker has seen (from the tile server of the settings, TILE_URL) are kept
 * in a cache of their own, TILE_CACHE, within the tile server's usage policy: only tiles the
 * map asked for (nothing is fetched ahead), at most MAX_TILES of them (the oldest go first),
 * as long as the server's Cache-Control or Expires allows: a tile sent with no-store is never
 * kept, a fresh one is answered from here without asking the server again, an expired one is
 * fetched again (and its copy shown only when the network fails). Tiles are fetched with CORS
 * (the page's <img crossorigin>: their headers can be read) and the referrer policy
 * strict-origin-when-cross-origin (the tile server sees which site asks, as OpenStreetMap's
 * policy requires, and nothing of the page's path).
 */
"use strict";
// The versioned root of the pages' files, filled in when /sw.js is served (api.routers.pages):
// the cache is this version's, and a release (a new version) makes a new worker and cache.
var STATIC = "__STATIC__";
var VERSION = STATIC.split("/").pop();
var CACHE = "nattvandring-" + VERSION;
var NETWORK_TIMEOUT_MS = 2500;  // "about 3 s": a lie-fi reload opens in under 4 s
// A kept page younger than this opens at once (its routes and config are as fresh as that).
var PAGE_STALE_MS = 3600000;
var PAGE_VERSION_HEADER = "X-Nv-Static-Version";  // api.routers.pages.PAGE_VERSION_HEADER
var THEME_COOKIE = "nv_theme";  // api.routers.pages.THEME_COOKIE
var MAX_DEVIATION_ENTRIES = 24;
// The base map's URL template (Leaflet's {z}/{x}/{y}, {s}, {r}), filled in when /sw.js is
// served from the settings (api.routers.pages); empty for no base map.
var TILE_URL = "__TILE_URL__";
var TILE_CACHE = "nattvandring-tiles";
var MAX_TILES = 1500;
var TILE_PRUNE_EVERY = 50;  // tiles stored between two prunings (a pruning reads every key)
var TILE_PATTERN = tilePattern(TILE_URL);
var DEVIATIONS = "/api/v1/deviations";
var PAGE = "/";
// What the map page needs to open with no network, besides the page itself (PAGE, per user: it
// is fetched with the user's session cookie and dropped again when the sign-in page loads).
var SHELL = [
  STATIC + "/situation.js",
  STATIC + "/js/analysis.js",
  STATIC + "/js/api.js",
  STATIC + "/js/map.js",
  STATIC + "/js/queue.js",
  STATIC + "/js/ui.js",
  STATIC + "/js/walk.js",
  STATIC + "/map.css",
  STATIC + "/vendor/leaflet/leaflet.js",
  STATIC + "/vendor/leaflet/leaflet.css",
  STATIC + "/vendor/leaflet/images/marker-icon.png",
  STATIC + "/vendor/leaflet/images/marker-icon-2x.png",
  STATIC + "/vendor/leaflet/images/marker-shadow.png",
  STATIC + "/vendor/leaflet/images/layers.png",
  STATIC + "/vendor/leaflet/images/layers-2x.png",
  // The layers the map fetches (public, the same for every user).
  "/api/v1/areas",
  "/api/v1/zones",
  "/api/v1/places",
];
// API answers kept for the map.
var API_CACHED = [DEVIATIONS, "/api/v1/categories", "/api/v1/areas", "/api/v1/zones",
                  "/api/v1/places", "/api/v1/streets", "/api/v1/me/deviations"];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
      .then(function () { return fetch(PAGE); })
      .then(function (response) {
        if (!response.ok) throw new Error("the page: " + response.status);
        return keepPage(new Request(PAGE), response);
      })
      .then(function () { return self.skipWaiting(); })
  );
});
self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE && k !== TILE_CACHE; })
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

function isStatic(request) { return new URL(request.url).pathname.indexOf("/static/") === 0; }

/* The key an answer is cached under: the URL without the page's request headers (an
 * If-None-Match must not make a second entry). */
function keyOf(request) { return new Request(request.url); }

/* A copy of ``response`` stamped with the time it was fetched, for the cache. */
function stamped(response) {
  return response.clone().blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set("X-Nv-Fetched-At", new Date().toISOString());
    return new Response(body, { status: response.status, statusText: response.statusText, headers: headers });
  });
}

/* ``response`` as answered from the cache (marked so for the page). */
function fromCache(response) {
  return response.blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set("X-Nv-From-Cache", "1");
    return new Response(body, { status: response.status, statusText: response.statusText, headers: headers });
  });
}

function store(request, response) {
  return stamped(response).then(function (copy) {
    return caches.open(CACHE).then(function (cache) {
      return cache.put(keyOf(request), copy).then(function () {
        if (new URL(request.url).pathname === DEVIATIONS) return prune(cache);
      });
    });
  });
}

/* Keep the newest MAX_DEVIATION_ENTRIES deviation answers (one per query the map made). */
function prune(cache) {
  return cache.keys().then(function (keys) {
    var lists = keys.filter(function (k) { return new URL(k.url).pathname === DEVIATIONS; });
    if (lists.length <= MAX_DEVIATION_ENTRIES) return;
    return Promise.all(lists.map(function (k) {
      return cache.match(k).then(function (r) {
        return { key: k, at: (r && r.headers.get("X-Nv-Fetched-At")) || "" };
      });
    })).then(function (entries) {
      entries.sort(function (a, b) { return a.at < b.at ? -1 : 1; });
      return Promise.all(entries.slice(0, entries.length - MAX_DEVIATION_ENTRIES)
        .map(function (e) { return cache.delete(e.key); }));
    });
  });
}

/* Whether the cached deviations query ``have`` holds every report of the query ``want``: the
 * same or no category, the same or an earlier start, no end, a box around want's box, the same
 * or no status. Its answer must also be complete (not cut off at its limit): see `complete`. */
function covers(have, want) {
  var hp = have.searchParams, wp = want.searchParams;
  var hc = hp.getAll("category").sort().join(","), wc = wp.getAll("category").sort().join(",");
  if (hc && hc !== wc) return false;
  if (hp.getAll("status").join(",") !== wp.getAll("status").join(",")) return false;
  if (hp.get("area") !== wp.get("area") || hp.get("until") || wp.get("until")) return false;
  var hs = hp.get("since"), ws = wp.get("since");
  if (hs && (!ws || new Date(hs) > new Date(ws))) return false;
  var hb = hp.get("bbox"), wb = wp.get("bbox");
  if (hb) {
    if (!wb) return false;
    var h = hb.split(",").map(Number), w = wb.split(",").map(Number);
    if (!(h[0] <= w[0] && h[1] <= w[1] && h[2] >= w[2] && h[3] >= w[3])) return false;
  }
  return true;
}

function complete(response) {
  return response.clone().json().then(function (fc) {
    return fc.numberMatched === fc.numberReturned;
  }, function () { return false; });
}

/* The cached answer for ``request``: its own, or for deviations the newest complete answer of a
 * query that covers it. */
function cached(request) {
  var url = new URL(request.url);
  return caches.open(CACHE).then(function (cache) {
    return cache.match(keyOf(request)).then(function (hit) {
      if (hit || url.pathname !== DEVIATIONS) return hit;
      return cache.keys().then(function (keys) {
        var candidates = keys.filter(function (k) {
          var ku = new URL(k.url);
          return ku.pathname === DEVIATIONS && covers(ku, url);
        });
        return Promise.all(candidates.map(function (k) { return cache.match(k); }))
          .then(function (answers) {
            answers.sort(function (a, b) {
              return (a.headers.get("X-Nv-Fetched-At") || "") < (b.headers.get("X-Nv-Fetched-At") || "") ? 1 : -1;
            });
            return answers.reduce(function (p, r) {
              return p.then(function (found) {
                if (found || !r) return found;
                return complete(r).then(function (ok) { return ok ? r : null; });
              });
            }, Promise.resolve(null));
          });
      });
    });
  });
}

/* Keep the network's ``response`` to the page for the next visit when it is the map page of
 * this version; a redirect (to the sign-in page: the session ended) or a page of another
 * version (a release: its files are not this cache's) drops the copy kept. An error (a 503)
 * leaves the copy as it is. */
function keepPage(request, response) {
  // A navigation's redirect is not followed here: it comes as an "opaqueredirect".
  var redirect = response.type === "opaqueredirect" || response.redirected;
  var ours = response.headers.get(PAGE_VERSION_HEADER) === VERSION;
  if (response.type === "basic" && response.status === 200 && !redirect && ours) {
    return store(request, response);
  }
  if (redirect || response.status === 200 || response.status === 401 || response.status === 403) {
    return caches.open(CACHE).then(function (cache) { return cache.delete(keyOf(request)); });
  }
  return Promise.resolve();
}

/* The kept page, if it may open at once: of this version and younger than PAGE_STALE_MS. */
function freshPage(request) {
  return caches.open(CACHE).then(function (cache) { return cache.match(keyOf(request)); })
    .then(function (hit) {
      if (!hit || hit.headers.get(PAGE_VERSION_HEADER) !== VERSION) return null;
      var at = Date.parse(hit.headers.get("X-Nv-Fetched-At") || "");
      if (isNaN(at) || Date.now() - at > PAGE_STALE_MS || at > Date.now() + 60000) return null;
      return hit;
    });
}

/* The walker's theme now (the cookie nv_theme, which the server writes on <html data-theme>
 * and the kept page may have another of): "dark", "light" or "" (the system's). */
function theme() {
  return self.cookieStore.get(THEME_COOKIE).then(function (c) {
    return c && (c.value === "dark" || c.value === "light") ? c.value : "";
  });
}

/* The kept page as answered at once, with the theme of now on <html> (as the server would
 * write it): marked as the cache's copy, also for the page itself (its navigation timing's
 * serverTiming "nv-cache", with the time it was fetched). */
function pageFromCache(hit, now) {
  return hit.text().then(function (text) {
    var body = text.replace(/^(<!DOCTYPE html>\s*<html lang="sv")(?: data-theme="[a-z]*")?>/i,
                            "$1" + (now ? ' data-theme="' + now + '"' : "") + ">");
    var headers = new Headers(hit.headers);
    headers.set("X-Nv-From-Cache", "1");
    headers.set("Server-Timing", 'nv-cache;desc="' + (hit.headers.get("X-Nv-Fetched-At") || "") + '"');
    return new Response(body, { status: hit.status, statusText: hit.statusText, headers: headers });
  });
}

/* Lie-fi: once a request has waited NETWORK_TIMEOUT_MS in vain, the next ones (the page's
 * modules, its layers) are answered from the cache at once while the network is still asked;
 * the first answer that comes in time ends it. */
var slow = false;

/* A page hands over the deviation list it came with (the situation page carries its first
 * list): kept under its URL like a fetched one, unless the copy kept is as new or newer. */
self.addEventListener("message", function (event) {
  var m = event.data;
  if (!m || m.type !== "nv-keep-list" || typeof m.url !== "string" || typeof m.body !== "string") return;
  var url = new URL(m.url);
  if (url.origin !== self.location.origin || url.pathname !== DEVIATIONS) return;
  var at = new Date(m.fetchedAt);
  if (isNaN(at.getTime())) return;
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.match(url.href).then(function (hit) {
      var kept = hit && new Date(hit.headers.get("X-Nv-Fetched-At") || 0);
      if (kept && kept >= at) return;
      var headers = new Headers({ "Content-Type": "application/geo+json", "X-Nv-Fetched-At": at.toISOString() });
      return cache.put(url.href, new Response(m.body, { status: 200, headers: headers }))
        .then(function () { return prune(cache); });
    });
  }));
});

// -- base-map tiles ---------------------------------------------------------------------------

/* A RegExp for the URLs of the template ``template`` (null without one). */
function tilePattern(template) {
  if (!template || template.indexOf("__TILE") === 0) return null;
  var parts = template.split(/(\{-?[a-z]+\})/);
  var source = parts.map(function (part) {
    if (part === "{z}" || part === "{x}" || part === "{y}" || part === "{-y}") return "-?\\d+";
    if (part === "{s}") return "[a-z0-9-]+";
    if (part === "{r}") return "(?:@2x)?";
    if (/^\{[a-z]+\}$/.test(part)) return "[^/?#]*";
    return part.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&");
  }).join("");
  return new RegExp("^" + source + "$");
}

function isTile(request) {
  return TILE_PATTERN !== null && request.method === "GET" && TILE_PATTERN.test(request.url);
}

/* What the tile server's headers allow: {keep: false} for no-store, else {keep: true,
 * freshUntil: ms} from max-age (or s-maxage is not ours: a browser is a private cache), else
 * Expires; no-cache or neither header: fresh until now (fetched again each time). */
function tilePolicy(response) {
  var cc = (response.headers.get("Cache-Control") || "").toLowerCase();
  if (/(^|[,\s])no-store([,\s]|$)/.test(cc)) return { keep: false };
  var now = Date.now();
  if (/(^|[,\s])no-cache([,\s=]|$)/.test(cc)) return { keep: true, freshUntil: now };
  var age = Number(response.headers.get("Age")) || 0;
  var maxAge = /(?:^|[,\s])max-age=(\d+)/.exec(cc);
  if (maxAge) return { keep: true, freshUntil: now + (Number(maxAge[1]) - age) * 1000 };
  var expires = Date.parse(response.headers.get("Expires") || "");
  if (!isNaN(expires)) return { keep: true, freshUntil: expires };
  return { keep: true, freshUntil: now };
}

/* The tile request as this worker sends it: CORS without credentials, referrer policy
 * strict-origin-when-cross-origin. */
function tileRequest(request) {
  return new Request(request.url, {
    mode: "cors", credentials: "omit", referrerPolicy: "strict-origin-when-cross-origin",
  });
}

var tilesStored = 0;
function storeTile(request, response) {
  var policy = tilePolicy(response);
  if (!policy.keep) {
    // A tile the server says not to keep goes, also an older copy of it.
    return caches.open(TILE_CACHE).then(function (cache) { return cache.delete(request.url); });
  }
  return response.clone().blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set("X-Nv-Fresh-Until", String(policy.freshUntil));
    var copy = new Response(body, { status: response.status, statusText: response.statusText, headers: headers });
    return caches.open(TILE_CACHE).then(function (cache) {
      // Deleted first, so that a stored tile goes to the end of the keys' order (oldest first).
      return cache.delete(request.url).then(function () { return cache.put(request.url, copy); })
        .then(function () {
          tilesStored += 1;
          if (tilesStored % TILE_PRUNE_EVERY === 1) return pruneTiles(cache);
        });
    });
  });
}

/* Keep the MAX_TILES stored last (a cache lists its keys in the order they were put). */
function pruneTiles(cache) {
  return cache.keys().then(function (keys) {
    if (keys.length <= MAX_TILES) return;
    return Promise.all(keys.slice(0, keys.length - MAX_TILES).map(function (k) { return cache.delete(k); }));
  });
}

function fetchTile(event, request) {
  return fetch(tileRequest(request)).then(function (response) {
    if (response.status === 200 && response.type !== "opaque") event.waitUntil(storeTile(request, response));
    return response;
  });
}

function answerTile(event) {
  var request = event.request;
  return caches.open(TILE_CACHE).then(function (cache) {
    return cache.match(request.url).then(function (hit) {
      if (hit && Number(hit.headers.get("X-Nv-Fresh-Until")) > Date.now()) return hit;
      // Expired or never seen: the server first; what was seen, when the network fails.
      return fetchTile(event, request).then(function (response) {
        if (response.ok || !hit) return response;
        return hit;
      }, function (error) {
        if (hit) return hit;
        throw error;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (isTile(request)) { event.respondWith(answerTile(event)); return; }
  if (!cacheable(request)) return;
  if (new URL(request.url).pathname.indexOf(STATIC + "/") === 0) {
    // A versioned file never changes: the cached copy is right, whatever the network.
    event.respondWith(caches.match(keyOf(request)).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.status === 200) event.waitUntil(store(request, response));
        return response;
      });
    }));
    return;
  }
  if (new URL(request.url).pathname === PAGE) {
    event.respondWith(answerPage(event));
    return;
  }
  event.respondWith(networkFirst(event));
});

/* The map page: the kept copy at once while the network refreshes it (stale-while-revalidate),
 * else network first. */
function answerPage(event) {
  var request = event.request;
  // Without the Cookie Store API the page's theme is not known here: network first.
  if (!self.cookieStore) return networkFirst(event);
  return Promise.all([freshPage(request), theme()]).then(function (found) {
    var hit = found[0];
    if (!hit) return networkFirst(event);
    event.waitUntil(fetch(request).then(function (response) {
      return keepPage(request, response);
    }, function () { /* offline or lie-fi: the copy stays */ }));
    return pageFromCache(hit, found[1]);
  }, function () { return networkFirst(event); });
}

/* Network first: the network's answer (kept for later), else after NETWORK_TIMEOUT_MS or when
 * the network fails the cached copy (`cached`). */
function networkFirst(event) {
  var request = event.request;
  var isPage = new URL(request.url).pathname === PAGE;
  var started = Date.now();
  var network = fetch(request).then(function (response) {
    // Only an answer that must come from the server ends lie-fi: a static file may come from
    // the browser's own HTTP cache however bad the network is.
    if (Date.now() - started < NETWORK_TIMEOUT_MS && !isStatic(request)) slow = false;
    // Keep only real answers: not a redirect to the sign-in page, not an error, not a 304.
    if (isPage) event.waitUntil(keepPage(request, response.clone()));
    else if (response.status === 200 && !response.redirected && response.type === "basic") {
      event.waitUntil(store(request, response));
    }
    return response;
  });
  return new Promise(function (resolve, reject) {
    var settled = false;
    function fallBack(error) {
      return cached(request).then(function (hit) {
        if (settled) return;
        if (hit) { settled = true; resolve(fromCache(hit)); }
        else if (error) { settled = true; reject(error); }
      });
    }
    // Lie-fi: after NETWORK_TIMEOUT_MS the cache answers if it can; the network still may.
    var timer = setTimeout(function () { slow = true; fallBack(null); },
                           slow ? 0 : NETWORK_TIMEOUT_MS);
    network.then(function (response) {
      clearTimeout(timer);
      if (!settled) { settled = true; resolve(response); }
    }, function (error) {
      clearTimeout(timer);
      fallBack(error).then(function () {
        if (!settled) { settled = true; resolve(Response.error()); }
      });
    });
  });
}
