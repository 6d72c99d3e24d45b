// The signed-in provider's live alerts over /ws/provider, kept open through drops.
//
// Alerts sent while the socket was down are lost, so every (re)connection calls onResync: the
// page re-reads its lists instead of trusting them. The server sends {"type":"resync"} for the
// same reason when it lost Redis for a while.

import { socketOrigin } from "./live-slots.js";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
// The server's "don't come back" answers: signed out (4401) or not a provider (4403).
const FINAL_CLOSE_CODES = new Set([4401, 4403]);

export class ProviderFeed {
  /**
   * onAppointment({event, appointment}) for each change; onResync() after each (re)connection
   * and when the server asks; onState("connecting" | "live" | "reconnecting" | "off").
   */
  constructor({ onAppointment, onResync, onState }) {
    this.handlers = { onAppointment, onResync, onState };
    this.socket = null;
    this.failures = 0;
    this.timer = null;
    this.stopped = false;
    window.addEventListener("online", () => this.reconnectNow());
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, "Leaving");
  }

  connect() {
    clearTimeout(this.timer);
    const socket = new WebSocket(`${socketOrigin()}/ws/provider`);
    this.socket = socket;
    this.handlers.onState(this.failures ? "reconnecting" : "connecting");
    socket.addEventListener("open", () => {
      this.failures = 0;
      this.handlers.onState("live");
      this.handlers.onResync();
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (event) => this.closed(socket, event.code));
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === "resync") this.handlers.onResync();
    else if (frame.type === "appointment") this.handlers.onAppointment(frame);
  }

  closed(socket, code) {
    if (socket !== this.socket) return; // an older socket, already replaced
    this.socket = null;
    if (this.stopped || FINAL_CLOSE_CODES.has(code)) {
      this.handlers.onState("off");
      return;
    }
    this.handlers.onState("reconnecting");
    // Exponential backoff with jitter, so a restarted server is not hit by every page at once.
    const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.failures);
    this.failures += 1;
    this.timer = setTimeout(() => this.connect(), ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  reconnectNow() {
    if (this.stopped || this.socket) return;
    this.failures = 0;
    this.connect();
  }
}
