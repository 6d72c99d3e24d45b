// Bookings that a date override or time off left in place ("conflicts"): listed for the provider
// to decide about, each with a link to that day's schedule on the dashboard.
import { STATUS_LABELS } from "./dashboard-rows.js";
import { formatDay, formatTime } from "./formatting.js";

function conflictItem(appointment, timeZone) {
  const item = document.createElement("li");
  const when = document.createElement("strong");
  when.textContent = `${formatDay(appointment.slot_date)}, ${formatTime(appointment.start_time, timeZone)}`;
  const what = document.createTextNode(
    ` · ${appointment.service_name} · ${appointment.customer_name} (${STATUS_LABELS[appointment.status] || appointment.status}) `,
  );
  const link = document.createElement("a");
  link.href = `/dashboard?date=${encodeURIComponent(appointment.slot_date)}`;
  link.textContent = "Open that day's schedule";
  item.append(when, what, link);
  return item;
}

/**
 * Fill `box` (a [data-conflicts] element with a heading, a [data-conflict-list] and a
 * [data-conflict-intro]) with the bookings that stayed; hide it when there are none.
 * Moves focus to it when there are some, so the provider hears about them at once.
 */
export function showConflicts(box, conflicts, timeZone, intro) {
  const list = box.querySelector("[data-conflict-list]");
  if (!conflicts || !conflicts.length) {
    box.hidden = true;
    list.replaceChildren();
    return;
  }
  box.querySelector("[data-conflict-intro]").textContent = intro;
  list.replaceChildren(...conflicts.map((appointment) => conflictItem(appointment, timeZone)));
  box.hidden = false;
  box.focus();
}
