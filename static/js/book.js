// /services/{id}/book?slot=…: the booking form. It watches its slot live: when someone else
// takes it, the form says so at once and offers the nearest free times instead.
import { clearErrors, getJSON, sendJSON, showAPIError, showFieldError } from "./api.js";
import { addDays, browserTimeZone, formatDay, formatMoment, formatPrices, formatTime } from "./formatting.js";
import { LiveSlots, freeSlots } from "./live-slots.js";
import { cancelDeadline, cancelText, noticeText, span } from "./rule-text.js";

const WATCHED_DAYS = 7;
const ALTERNATIVES = 4;
const GONE_CODES = new Set(["slot_taken", "slot_in_past", "slot_not_found", "slot_unavailable", "too_late_to_book"]);

const form = document.querySelector("[data-book-form]");
const message = document.querySelector("[data-slot-message]");
const alternatives = document.querySelector("[data-alternatives]");
const alternativeList = document.querySelector("[data-alternative-list]");
const summary = document.querySelector("[data-summary]");
const whenText = document.querySelector("[data-slot-when]");
const bookButton = form.querySelector("[data-book-button]");
const serviceId = form.dataset.serviceId;
const timeZone = form.dataset.timezone;

const chosen = { id: form.dataset.slotId, start: form.dataset.slotStart, day: form.dataset.slotDate };
let idempotencyKey = newKey();
let taken = form.dataset.slotGone === "true";
let submitting = false;

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http on a LAN address are not a secure context: no randomUUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// --- Watching the chosen slot --------------------------------------------------------------------

const live = new LiveSlots(serviceId, {
  from: chosen.day,
  to: addDays(chosen.day, WATCHED_DAYS - 1),
  onChange: checkChosenSlot,
});

function checkChosenSlot(slots) {
  // While our own booking is in flight the slot going is most likely us: the answer decides.
  if (submitting) return;
  const now = slots.get(chosen.start);
  if (now && now.available && Date.parse(now.start_time) > Date.now()) {
    // The time may be free again as a new row (a cancellation re-offers it): book that one.
    if (now.id !== chosen.id) useSlot(now, { quiet: true });
    if (taken) markFree();
    return;
  }
  if (taken) {
    showAlternatives();
    return;
  }
  taken = true;
  bookButton.disabled = true;
  // Unless the time came back meanwhile.
  goneReason(now).then((text) => taken && markTaken(text));
}

// A time can go because someone booked it, or because it came inside the minimum notice
// (the clock moved on, or the provider asked for more): the service's current rule decides.
async function goneReason(slot) {
  const { ok, data } = await getJSON(`/api/services/${encodeURIComponent(serviceId)}`);
  const notice = ok ? data.service.min_notice_minutes : Number(form.dataset.noticeMinutes || 0);
  if (slot && notice && Date.parse(slot.start_time) - Date.now() < notice * 60_000) {
    return `${noticeText(notice).slice(0, -1)}: this time is now too soon.`;
  }
  return "Sorry, that time was just booked by someone else.";
}

function markTaken(text) {
  taken = true;
  message.textContent = `${text} Please choose another time.`;
  message.classList.add("is-alert");
  bookButton.disabled = true;
  showAlternatives();
}

function markFree() {
  taken = false;
  message.textContent = "";
  message.classList.remove("is-alert");
  alternatives.hidden = true;
  bookButton.disabled = submitting;
}

function showAlternatives() {
  if (!live.ready) return;
  const target = Date.parse(chosen.start);
  const nearest = freeSlots(live.slots)
    .filter((slot) => slot.start_time !== chosen.start)
    .sort((a, b) => Math.abs(Date.parse(a.start_time) - target) - Math.abs(Date.parse(b.start_time) - target))
    .slice(0, ALTERNATIVES)
    .sort((a, b) => Date.parse(a.start_time) - Date.parse(b.start_time));
  alternativeList.replaceChildren(...nearest.map(alternativeItem));
  alternatives.hidden = false;
  if (!nearest.length) {
    alternativeList.replaceChildren(textItem("No free times in the coming week."));
  }
}

function alternativeItem(slot) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button-secondary alternative-button";
  button.textContent = `${formatDay(slot.slot_date)}, ${formatTime(slot.start_time, timeZone)}`;
  button.addEventListener("click", () => {
    useSlot(slot, { quiet: false });
    markFree();
    message.textContent = `Switched to ${whenText.textContent}.`;
    summary.focus();
  });
  item.append(button);
  return item;
}

function textItem(text) {
  const item = document.createElement("li");
  item.className = "muted";
  item.textContent = text;
  return item;
}

function useSlot(slot, { quiet }) {
  chosen.id = slot.id;
  chosen.start = slot.start_time;
  chosen.day = slot.slot_date;
  form.slot_id.value = slot.id;
  // A different body under the same key would be refused (idempotency_key_reused).
  idempotencyKey = newKey();
  if (quiet) return;
  whenText.textContent = formatMoment(slot.start_time, timeZone);
  describeCancellation(slot.start_time);
  const url = new URL(window.location.href);
  url.searchParams.set("slot", slot.id);
  history.replaceState(null, "", url);
}

// The cancellation rule as it applies to the chosen time (book.html words the first one).
function describeCancellation(startIso) {
  const note = document.querySelector("[data-cancel-rule]");
  const minutes = Number(note.dataset.cancelCutoff);
  if (!minutes) return;
  const deadline = cancelDeadline(startIso, minutes);
  note.textContent =
    deadline.getTime() <= Date.now()
      ? `This time is less than ${span(minutes)} away: once booked, it can't be cancelled online.`
      : `${cancelText(minutes).slice(0, -1)}: until ${formatMoment(deadline.toISOString(), timeZone)}.`;
}

// --- Submitting ----------------------------------------------------------------------------------

function missingFields() {
  const missing = [];
  if (!form.customer_name.value.trim()) missing.push(["customer_name", "Enter your name."]);
  const email = form.customer_email.value.trim();
  if (!email) missing.push(["customer_email", "Enter your e-mail address."]);
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) missing.push(["customer_email", "Enter a valid e-mail address."]);
  return missing;
}

function bookingBody() {
  const optional = (value) => value.trim() || null;
  return {
    slot_id: chosen.id,
    customer_name: form.customer_name.value.trim(),
    customer_email: form.customer_email.value.trim(),
    customer_phone: optional(form.customer_phone.value),
    notes: optional(form.notes.value),
    customer_timezone: browserTimeZone(),
  };
}

async function submit(event) {
  event.preventDefault();
  if (submitting || taken) return;
  clearErrors(form);
  const missing = missingFields();
  if (missing.length) {
    for (const [name, text] of missing) showFieldError(form, name, text);
    form.querySelector(`#${missing[0][0]}`).focus();
    return;
  }
  submitting = true;
  bookButton.disabled = true;
  bookButton.setAttribute("aria-busy", "true");
  const { ok, data } = await sendJSON("/api/bookings", bookingBody(), "POST", { "Idempotency-Key": idempotencyKey });
  if (ok) {
    window.location.assign(data.checkout_url || data.manage_url);
    return;
  }
  submitting = false;
  bookButton.removeAttribute("aria-busy");
  bookButton.disabled = taken;
  const code = data && data.error ? data.error.code : "";
  if (GONE_CODES.has(code)) {
    markTaken(data.error.message);
    message.focus();
    return;
  }
  showAPIError(form, data);
}

// --- Pre-filling for a signed-in customer --------------------------------------------------------

async function prefill() {
  if (form.dataset.signedIn !== "true") return;
  const { ok, data } = await getJSON("/api/me");
  if (!ok) return;
  if (!form.customer_name.value) form.customer_name.value = data.user.name;
  if (!form.customer_email.value) form.customer_email.value = data.user.email;
}

form.addEventListener("submit", submit);
message.tabIndex = -1;
if (taken) markTaken("Sorry, that time is no longer available.");
formatPrices();
prefill();
live.start();
