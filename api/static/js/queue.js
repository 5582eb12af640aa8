/* nattvandring: the queue of deviation reports waiting for the network.
 *
 * A report gets a client UUID and waits on the device (a Storage: localStorage in the page)
 * until the server has stored it, so a dead network, a reload or a retry never loses a report
 * and never stores one twice (the server is idempotent on the UUID). Pure functions over a
 * storage object and a send function, so that they can be tested without a page or a server.
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
                            now = new Date(), id = uuid4() }) {
  const props = { id, category, observed_at: now.toISOString(), severity };
  const text = note.trim();
  if (text) props.description = text;
  if (accuracyM != null) props.accuracy_m = accuracyM;
  return {
    type: "Feature",
    geometry: { type: "Point", coordinates: [round6(lon), round6(lat)] },
    properties: props,
  };
}

/** Add a report at the end of the queue (once: the same id is not queued twice). */
export function enqueue(storage, key, feature, now = new Date()) {
  const items = readQueue(storage, key);
  if (!items.some((i) => i.feature.properties.id === feature.properties.id)) {
    items.push({ feature, queued_at: now.toISOString() });
    writeQueue(storage, key, items);
  }
  return items;
}

/** Take a report off the queue. */
export function dequeue(storage, key, id) {
  const items = readQueue(storage, key).filter((i) => i.feature.properties.id !== id);
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
    dequeue(storage, key, item.feature.properties.id);
    (outcome === "refused" ? result.refused : result.stored).push(item.feature.properties.id);
  }
  result.waiting = readQueue(storage, key).length;
  return result;
}
