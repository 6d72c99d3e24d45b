// /bookings/{id}: the customer's own time beside the provider's, copying the manage link,
// moving the booking to another live free time (Reschedule), and cancelling after a
// confirmation dialog.
import { sendJSON } from "./api.js";
import { browserTimeZone, formatMoment, formatPrices } from "./formatting.js";
import { mountSlotPicker } from "./slot-picker.js";

const card = document.querySelector("[data-booking]");
const message = card.querySelector("[data-booking-message]");

function showCustomerTime() {
  const providerZone = card.dataset.providerTimezone;
  const zone = card.dataset.customerTimezone || browserTimeZone();
  const start = card.dataset.start;
  const theirs = formatMoment(start, zone);
  if (!zone || theirs === formatMoment(start, providerZone)) {
    card.querySelector("[data-your-time]").hidden = true;
    card.querySelector("[data-your-time-label]").hidden = true;
    return;
  }
  const value = card.querySelector("[data-your-time]");
  value.textContent = `${theirs} (${zone})`;
  value.hidden = false;
  card.querySelector("[data-your-time-label]").hidden = false;
}

async function copyLink() {
  const input = card.querySelector("#manage-url");
  const status = card.querySelector("[data-copy-status]");
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = "Link copied.";
  } catch {
    // No clipboard permission (or not a secure context): select it for the user to copy.
    input.focus();
    input.select();
    status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected link.";
  }
}

function bookingURL(action) {
  const key = card.dataset.manageKey;
  const base = `/api/bookings/${encodeURIComponent(card.dataset.bookingId)}/${action}`;
  return key ? `${base}?key=${encodeURIComponent(key)}` : base;
}

function cancelURL() {
  return bookingURL("cancel");
}

// --- Reschedule: a live picker of the same service's free times, then one click to move ----

const reschedule = card.querySelector("[data-reschedule]");
let picker = null;
let chosen = null;

function openPicker() {
  const panel = reschedule.querySelector("[data-reschedule-panel]");
  const opener = reschedule.querySelector("[data-reschedule-open]");
  const opening = panel.hidden;
  panel.hidden = !opening;
  opener.setAttribute("aria-expanded", String(opening));
  opener.textContent = opening ? "Keep the current time" : "Choose a new time";
  if (opening && !picker) {
    picker = mountSlotPicker(panel.querySelector("[data-slot-picker]"), {
      onPick: choose,
      // The booking's own time is never offered back to it.
      isOffered: (slot) => slot.start_time !== card.dataset.start,
    });
  }
  if (opening) panel.querySelector("[data-days] button, [data-slots-status]")?.focus();
}

function choose(slot) {
  chosen = slot;
  const confirm = reschedule.querySelector("[data-reschedule-confirm]");
  const zone = card.dataset.providerTimezone;
  reschedule.querySelector("[data-reschedule-choice]").textContent = `Move to ${formatMoment(slot.start_time, zone)}?`;
  reschedule.querySelector("[data-reschedule-error]").hidden = true;
  confirm.hidden = false;
  confirm.querySelector("[data-reschedule-move]").focus();
}

function chooseAgain() {
  chosen = null;
  reschedule.querySelector("[data-reschedule-confirm]").hidden = true;
  reschedule.querySelector("[data-slots] button")?.focus();
}

async function move() {
  if (!chosen) return;
  const button = reschedule.querySelector("[data-reschedule-move]");
  const error = reschedule.querySelector("[data-reschedule-error]");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  const { ok, data } = await sendJSON(bookingURL("reschedule"), { slot_id: chosen.id });
  button.disabled = false;
  button.removeAttribute("aria-busy");
  if (!ok) {
    const code = data && data.error && data.error.code;
    error.textContent = (data && data.error && data.error.message) || "We couldn't move the booking. Please try again.";
    error.hidden = false;
    if (code === "too_late_to_reschedule" || code === "invalid_transition") {
      reschedule.querySelector("[data-reschedule-panel]").remove();
      reschedule.querySelector("[data-reschedule-open]").remove();
      reschedule.append(error);
      picker?.stop();
    } else {
      reschedule.querySelector("[data-reschedule-confirm]").hidden = true;
    }
    return;
  }
  showMoved(data.appointment);
}

function showMoved(appointment) {
  const zone = card.dataset.providerTimezone;
  card.dataset.start = appointment.start_time;
  card.dataset.end = appointment.end_time;
  card.querySelector("[data-when]").textContent = formatMoment(appointment.start_time, zone);
  card.querySelector("[data-when]").setAttribute("datetime", appointment.start_time);
  card.querySelector("[data-token]").textContent = `You're number ${appointment.token} that day.`;
  const status = card.querySelector("[data-status]");
  status.textContent = appointment.status === "PENDING" ? "Awaiting confirmation" : "Confirmed";
  status.className = `status-badge status-${appointment.status.toLowerCase()}`;
  showCustomerTime();
  chooseAgain();
  openPicker(); // close it
  message.textContent = `Your booking is moved to ${formatMoment(appointment.start_time, zone)}. ${card.querySelector("[data-business]")?.textContent || "The provider"} will confirm the new time; we've e-mailed you an updated calendar event.`;
  message.focus();
}

if (reschedule) {
  reschedule.querySelector("[data-reschedule-open]").addEventListener("click", openPicker);
  reschedule.querySelector("[data-reschedule-move]").addEventListener("click", move);
  reschedule.querySelector("[data-reschedule-back]").addEventListener("click", chooseAgain);
}

async function cancel() {
  const button = card.querySelector("[data-cancel-booking]");
  const error = card.querySelector("[data-cancel-error]");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  error.hidden = true;
  const { ok, data } = await sendJSON(cancelURL());
  button.removeAttribute("aria-busy");
  if (!ok) {
    const tooLate = Boolean(data && data.error && data.error.code === "too_late_to_cancel");
    button.disabled = tooLate;
    error.textContent = (data && data.error && data.error.message) || "We couldn't cancel the booking. Please try again.";
    error.hidden = false;
    if (tooLate) {
      // The cut-off passed while the page was open: nothing left to offer here.
      card.querySelector("[data-cancel-area]").remove();
      card.querySelector("[data-cancel-until]")?.remove();
      picker?.stop();
      reschedule?.remove();
    }
    return;
  }
  const status = card.querySelector("[data-status]");
  status.textContent = "Cancelled";
  status.className = "status-badge status-cancelled";
  card.querySelector("[data-cancel-area]").remove();
  card.querySelector("[data-cancel-until]")?.remove();
  picker?.stop();
  reschedule?.remove();
  message.textContent = "Your booking is cancelled. The time is now free for others.";
  message.focus();
}

function askToCancel() {
  const dialog = card.querySelector("[data-cancel-dialog]");
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    () => {
      if (dialog.returnValue === "cancel") cancel();
      else card.querySelector("[data-cancel-booking]").focus();
    },
    { once: true },
  );
  dialog.showModal();
}

message.tabIndex = -1;
showCustomerTime();
formatPrices(card);
card.querySelector("[data-copy-link]")?.addEventListener("click", copyLink);
card.querySelector("[data-cancel-booking]")?.addEventListener("click", askToCancel);
