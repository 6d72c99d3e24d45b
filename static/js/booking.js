// /bookings/{id}: the customer's own time beside the provider's, copying the manage link,
// and cancelling after a confirmation dialog.
import { sendJSON } from "./api.js";
import { browserTimeZone, formatMoment, formatPrices } from "./formatting.js";

const card = document.querySelector("[data-booking]");
const message = card.querySelector("[data-booking-message]");

function showCustomerTime() {
  const providerZone = card.dataset.providerTimezone;
  const zone = card.dataset.customerTimezone || browserTimeZone();
  const start = card.dataset.start;
  const theirs = formatMoment(start, zone);
  if (!zone || theirs === formatMoment(start, providerZone)) return;
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

function cancelURL() {
  const key = card.dataset.manageKey;
  const base = `/api/bookings/${encodeURIComponent(card.dataset.bookingId)}/cancel`;
  return key ? `${base}?key=${encodeURIComponent(key)}` : base;
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
    }
    return;
  }
  const status = card.querySelector("[data-status]");
  status.textContent = "Cancelled";
  status.className = "status-badge status-cancelled";
  card.querySelector("[data-cancel-area]").remove();
  card.querySelector("[data-cancel-until]")?.remove();
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
