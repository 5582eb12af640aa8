/* nattvandring: what waits on the phone for the network: deviation reports, walk reports and
 * the walk's recorded track.
 *
 * A report gets a client UUID and waits on the device (a Storage: localStorage in the page)
 * until the server has stored it, so a dead network, a reload or a retry never loses a report
 * and never stores one twice (the server is idempotent on the UUID). Track points wait the same
 * way and go in batches; the server stores a retried batch once. Pure functions over a storage
 * object and a send function, so that they can be tested without a page or a server.
 */

/** A random (version 4) UUID; crypto.randomUUID exists only on secure origins. */
export function uuid4(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl.randomUUID) return cryptoImpl.randomUUID();
  const b = cryptoImpl.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => (x + 0x100).toString(16).slice(1)).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The storage key of a user's queue (a shared phone keeps each user's reports apart). */
export function queueKey(userId) { return "nattvandring.pending." + userId; }

/** The storage key of a user's queue of walk reports (återrapporter). */
export function walkReportKey(userId) { return "nattvandring.walkreports." + userId; }

/* A queued body's id: a deviation report's (a Feature: properties.id) or a flat body's (id). */
function bodyId(body) { return body.properties ? body.properties.id : body.id; }

/** The waiting items, oldest first: [{feature, queued_at}]. A broken entry reads as empty. */
export function readQueue(storage, key) {
  try {
    const items = JSON.parse(storage.getItem(key) || "[]");
    return Array.isArray(items) ? items : [];
  } catch (e) {
    return [];
  }
}

export function writeQueue(storage, key, items) {
  storage.setItem(key, JSON.stringify(items));
}

function round6(v) { return Math.round(v * 1e6) / 1e6; }

/** A deviation report as the API takes it: a GeoJSON Point Feature with a new UUID. */
export function newReport({ lon, lat, category, severity, note = "", accuracyM = null,
                            walkId = null, now = new Date(), id = uuid4() }) {
  const props = { id, category, observed_at: now.toISOString(), severity };
  if (walkId) props.walk_id = walkId;  // reported during an ongoing walk
  const text = note.trim();
  if (text) props.description = text;
  if (accuracyM != null) props.accuracy_m = accuracyM;
  return {
    type: "Feature",
    geometry: { type: "Point", coordinates: [round6(lon), round6(lat)] },
    properties: props,
  };
}

/** Add a report at the end of the queue (once: the same id is not queued twice). ``feature`` is
 * a deviation report or any body with an ``id`` (a walk report). */
export function enqueue(storage, key, feature, now = new Date()) {
  const items = readQueue(storage, key);
  if (!items.some((i) => bodyId(i.feature) === bodyId(feature))) {
    items.push({ feature, queued_at: now.toISOString() });
    writeQueue(storage, key, items);
  }
  return items;
}

/** Take a report off the queue. */
export function dequeue(storage, key, id) {
  const items = readQueue(storage, key).filter((i) => bodyId(i.feature) !== id);
  writeQueue(storage, key, items);
  return items;
}

/**
 * Send the waiting reports one after another, oldest first.
 *
 * ``send(feature)`` resolves to "stored" (the server has it) or "refused" (the server will never
 * take it as it is): either way the report leaves the queue. It rejects when the report should
 * wait (no network, 5xx, 408, 429): the flush stops there and that report and the ones after it
 * stay. With ``online === false`` nothing is tried (wait for the browser's "online" event).
 * Resolves to {stored: [ids], refused: [ids], waiting: count}.
 */
export async function flush(storage, key, send, { online = true } = {}) {
  const result = { stored: [], refused: [], waiting: 0 };
  if (online === false) {
    result.waiting = readQueue(storage, key).length;
    return result;
  }
  for (const item of readQueue(storage, key)) {
    let outcome;
    try {
      outcome = await send(item.feature);
    } catch (e) {
      break;
    }
    const id = bodyId(item.feature);
    dequeue(storage, key, id);
    (outcome === "refused" ? result.refused : result.stored).push(id);
  }
  result.waiting = readQueue(storage, key).length;
  return result;
}

// -- the walk's track ------------------------------------------------------------------------------

/** Fixes less accurate than this are dropped on the phone (the server drops them too). */
export const MAX_ACCURACY_M = 50;

/** The storage key of the points of a walk's track that the server has not stored yet. */
export function trackKey(userId, walkId) { return "nattvandring.track." + userId + "." + walkId; }

/** A track point as the API takes it from a geolocation fix ({coords, timestamp}), or null when
 * the fix is worse than ``maxAccuracyM``. */
export function trackPoint(fix, maxAccuracyM = MAX_ACCURACY_M) {
  const c = fix.coords;
  if (c.accuracy == null || !(c.accuracy <= maxAccuracyM)) return null;
  return {
    lon: round6(c.longitude), lat: round6(c.latitude),
    accuracy_m: Math.round(c.accuracy * 10) / 10,
    recorded_at: new Date(fix.timestamp).toISOString(),
  };
}

/** Keep a point on the phone (once per recorded time); returns how many wait. */
export function addPoint(storage, key, point) {
  const points = readQueue(storage, key);
  if (!points.some((p) => p.recorded_at === point.recorded_at)) {
    points.push(point);
    writeQueue(storage, key, points);
  }
  return points.length;
}

/**
 * Send the waiting points in batches of at most ``batchSize``, oldest first. ``send(points)``
 * resolves when the server has stored the batch (it stores a retried batch once, so a batch whose
 * answer was lost is simply sent again) and rejects when the batch should wait: the flush stops
 * and the points stay. Resolves to {sent: count, waiting: count}.
 */
export async function flushPoints(storage, key, send, { online = true, batchSize = 200 } = {}) {
  let sent = 0;
  while (online !== false) {
    const batch = readQueue(storage, key).slice(0, batchSize);
    if (!batch.length) break;
    try {
      await send(batch);
    } catch (e) {
      break;
    }
    const done = new Set(batch.map((p) => p.recorded_at));
    writeQueue(storage, key, readQueue(storage, key).filter((p) => !done.has(p.recorded_at)));
    sent += batch.length;
  }
  return { sent, waiting: readQueue(storage, key).length };
}
