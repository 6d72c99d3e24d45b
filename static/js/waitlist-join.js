// The service page's "Join the waitlist": shown under the picker when the chosen day is full
// (every time taken, not closed), it puts the visitor in that day's line and opens their
// waitlist page. It reads the picker's day strip (a pressed day marked full), so the picker
// itself needs no knowledge of the waitlist.
import { clearErrors, sendJSON, showAPIError, whileBusy } from "./api.js";
import { browserTimeZone, formatDay } from "./formatting.js";

const picker = document.querySelector("[data-slot-picker]");
const box = picker && picker.querySelector("[data-waitlist-join]");
const ALIASES = { customer_name: "waitlist_name", customer_email: "waitlist_email", customer_phone: "waitlist_phone" };

function chosenFullDay() {
  const pressed = picker.querySelector("[data-days] [aria-pressed=true]");
  if (!pressed || !pressed.classList.contains("is-full")) return null;
  // "Full" (times exist, all taken) rather than "Closed" (no times that day).
  return pressed.querySelector(".day-count")?.textContent === "Full" ? pressed.dataset.day : null;
}

function update() {
  const day = chosenFullDay();
  const form = box.querySelector("[data-waitlist-form]");
  if (day) {
    form.elements.date.value = day;
    box.querySelector(".waitlist-join-title").textContent = `${formatDay(day, "long")} is full: join the waitlist`;
  }
  box.hidden = !day;
}

async function join(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const values = new FormData(form);
  const body = {
    date: values.get("date"),
    customer_name: String(values.get("waitlist_name") || ""),
    customer_email: String(values.get("waitlist_email") || ""),
    customer_phone: String(values.get("waitlist_phone") || "") || null,
    customer_timezone: browserTimeZone() || null,
  };
  const url = `/api/services/${encodeURIComponent(picker.dataset.serviceId)}/waitlist`;
  const { ok, data } = await whileBusy(form, () => sendJSON(url, body));
  if (ok) {
    window.location.assign(data.manage_url);
    return;
  }
  showAPIError(form, data, ALIASES);
}

if (box) {
  box.querySelector("[data-waitlist-form]").addEventListener("submit", join);
  new MutationObserver(update).observe(picker.querySelector("[data-days]"), { childList: true, subtree: true, attributes: true });
  update();
}
