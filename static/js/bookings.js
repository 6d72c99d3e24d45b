// /bookings: beside each provider-local time, the same moment in the customer's own zone.
import { browserTimeZone, formatMoment } from "./formatting.js";

for (const item of document.querySelectorAll("[data-booking-item]")) {
  const zone = item.dataset.customerTimezone || browserTimeZone();
  const theirs = formatMoment(item.dataset.start, zone);
  if (!zone || theirs === formatMoment(item.dataset.start, item.dataset.providerTimezone)) continue;
  const line = item.querySelector("[data-local-time]");
  line.textContent = `Your time: ${theirs} (${zone})`;
  line.hidden = false;
}
