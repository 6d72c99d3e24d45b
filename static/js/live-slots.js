// A live view of one service's slots over /ws/services/{id}/slots, kept across reconnects.
//
// The server sends a snapshot first, then a frame per change: `slot` for one slot, `slots` for
// several that changed within one short tick. A new snapshot (after a reconnect, or when the
// server lost track) replaces the whole view. Slots are keyed by
// start_time because a freed time can come back as a new row with a new id.
// Self-contained on purpose: other pages may copy it without pulling in the rest of the site.

const PERMANENT_CLOSE_CODES = new Set([4400, 4403, 4404]);
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15_000;

/**
 * Where live sockets are opened: the socket tier's origin when the page names one (the
 * `appointly-sockets` meta tag, from SOCKETS_PUBLIC_URL), else the page's own.
 */
export function socketOrigin() {
  const meta = document.querySelector('meta[name="appointly-sockets"]');
  if (meta && meta.content) return meta.content.replace(/\/+$/, "");
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}`;
}

export class LiveSlots {
  /**
   * @param {string} serviceId
   * @param {{from: string, to: string, onChange?: (slots: Map<string, object>) => void,
   *          onStatus?: (status: "connecting"|"live"|"reconnecting"|"closed", detail?: string) => void}} options
   */
  constructor(serviceId, { from, to, onChange = () => {}, onStatus = () => {} }) {
    this.serviceId = serviceId;
    this.range = { from, to };
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.slots = new Map();
    this.ready = false;
    this.socket = null;
    this.retries = 0;
    this.retryTimer = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close(1000);
    this.socket = null;
  }

  url() {
    const query = new URLSearchParams(this.range);
    return `${socketOrigin()}/ws/services/${encodeURIComponent(this.serviceId)}/slots?${query}`;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.onStatus(this.retries ? "reconnecting" : "connecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      if (socket === this.socket) this.receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (socket === this.socket) this.closed(event);
    });
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === "snapshot") {
      this.slots = new Map(frame.slots.map((slot) => [slot.start_time, slot]));
      this.ready = true;
      this.retries = 0;
      this.onStatus("live");
    } else if (frame.type === "slot" && frame.slot) {
      this.applySlot(frame.slot, Boolean(frame.removed));
    } else if (frame.type === "slots" && Array.isArray(frame.slots)) {
      for (const { removed, ...slot } of frame.slots) this.applySlot(slot, Boolean(removed));
    } else {
      return;
    }
    this.onChange(this.slots);
  }

  applySlot(slot, removed) {
    const current = this.slots.get(slot.start_time);
    if (!removed) {
      this.slots.set(slot.start_time, slot);
    } else if (current && current.id === slot.id) {
      // A removal only counts for the row it names: a newer row at that time may be live.
      this.slots.delete(slot.start_time);
    }
  }

  closed(event) {
    this.socket = null;
    if (this.stopped) return;
    if (PERMANENT_CLOSE_CODES.has(event.code)) {
      this.onStatus("closed", event.reason);
      return;
    }
    // Back off exponentially with jitter, so a restarted server is not stampeded.
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.retries);
    this.retries += 1;
    this.onStatus("reconnecting");
    this.retryTimer = setTimeout(() => this.connect(), delay / 2 + Math.random() * (delay / 2));
  }
}

/** The free slots of a view that have not started yet, by start time. */
export function freeSlots(slots, now = Date.now()) {
  return [...slots.values()]
    .filter((slot) => slot.available && Date.parse(slot.start_time) > now)
    .sort((a, b) => Date.parse(a.start_time) - Date.parse(b.start_time));
}
