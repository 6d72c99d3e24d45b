// /waitlist/{id}?key=: the customer's place in line, live over /ws/waitlist/{id}; when a time
// is held for them, its time, a countdown and "Book it"; leaving in one click.
import { getJSON, sendJSON } from "./api.js";
import { socketOrigin } from "./live-slots.js";
import { formatTime } from "./formatting.js";

const card = document.querySelector("[data-waitlist]");
const entryId = card.dataset.entryId;
const key = card.dataset.key;
const statusArea = card.querySelector("[data-status-area]");
const offerBox = card.querySelector("[data-offer]");
const countdown = card.querySelector("[data-countdown]");
const errorBox = card.querySelector("[data-waitlist-error]");
const liveState = card.querySelector("[data-live-state]");
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15000;

let entry = JSON.parse(card.querySelector("[data-entry-json]").textContent);
let lastStatus = null;
let retries = 0;
let ticker = null;

function withKey(path) {
  return key ? `${path}?key=${encodeURIComponent(key)}` : path;
}

function zone() {
  return card.dataset.customerTimezone || card.dataset.providerTimezone;
}

function statusText(found) {
  switch (found.status) {
    case "waiting":
      return `You're number ${found.position} in line. This page updates by itself: when a time comes free, it is held for you here and we e-mail you.`;
    case "offered":
      return "A time is held for you! Book it before the countdown ends.";
    case "booked":
      return "You booked the time you were offered.";
    case "expired":
      return "Your offer ran out and went to the next person in line.";
    default:
      return "You left this waitlist.";
  }
}

function render(found) {
  entry = found;
  // The status region is announced: only rewrite it when what it says changes.
  const text = statusText(found);
  if (found.status !== lastStatus || found.status === "waiting") {
    const paragraph = document.createElement("p");
    paragraph.className = "waitlist-position";
    paragraph.textContent = text;
    if (statusArea.textContent.trim() !== text) statusArea.replaceChildren(paragraph);
  }
  lastStatus = found.status;
  card.querySelector("[data-leave-area]").hidden = !["waiting", "offered"].includes(found.status);
  const offer = found.offer;
  offerBox.hidden = !offer;
  clearInterval(ticker);
  if (offer) {
    const providerZone = card.dataset.providerTimezone;
    card.querySelector("[data-offer-time]").textContent =
      `${formatTime(offer.slot.start_time, providerZone)}–${formatTime(offer.slot.end_time, providerZone)}`;
    tick();
    ticker = setInterval(tick, 1000);
  }
}

function tick() {
  if (!entry.offer) return;
  const left = Math.max(0, Date.parse(entry.offer.expires_at) - Date.now());
  const minutes = Math.floor(left / 60000);
  const seconds = Math.floor((left % 60000) / 1000);
  countdown.textContent = left > 0
    ? `${minutes}:${String(seconds).padStart(2, "0")} (until ${formatTime(entry.offer.expires_at, zone())})`
    : "no longer: it is passing to the next in line";
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

async function refresh() {
  const { ok, data } = await getJSON(withKey(`/api/waitlist/${encodeURIComponent(entryId)}`));
  if (ok) render(data.entry);
}

async function bookIt(event) {
  const button = event.currentTarget;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  errorBox.hidden = true;
  const { ok, data } = await sendJSON(withKey(`/api/waitlist/${encodeURIComponent(entryId)}/claim`));
  button.removeAttribute("aria-busy");
  button.disabled = false;
  if (ok) {
    window.location.assign(data.checkout_url || data.manage_url);
    return;
  }
  showError((data && data.error && data.error.message) || "We couldn't book it. Please try again.");
  await refresh();
}

async function leave(event) {
  const button = event.currentTarget;
  button.disabled = true;
  const { ok, data } = await sendJSON(withKey(`/api/waitlist/${encodeURIComponent(entryId)}/leave`));
  button.disabled = false;
  if (!ok) {
    showError((data && data.error && data.error.message) || "We couldn't take you off the list. Please try again.");
    return;
  }
  render(data.entry);
}

function socketURL() {
  return `${socketOrigin()}${withKey(`/ws/waitlist/${encodeURIComponent(entryId)}`)}`;
}

function connect() {
  const socket = new WebSocket(socketURL());
  socket.addEventListener("message", (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type !== "entry") return;
    retries = 0;
    liveState.textContent = "Live: this page updates by itself.";
    render(frame.entry);
  });
  socket.addEventListener("close", (event) => {
    if (event.code === 4404) {
      liveState.textContent = "Live updates are not available for this link.";
      return;
    }
    liveState.textContent = "Reconnecting for live updates…";
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** retries);
    retries += 1;
    setTimeout(connect, delay / 2 + Math.random() * (delay / 2));
  });
}

card.querySelector("[data-book-it]").addEventListener("click", bookIt);
card.querySelector("[data-leave]").addEventListener("click", leave);
render(entry);
connect();
