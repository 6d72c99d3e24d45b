// What the dashboard shows for one appointment: a schedule row, a pending request, an alert.
// Pure DOM builders; the state and the wiring live in dashboard.js.
import { formatDay, formatPrice, formatTime } from "./formatting.js";

export const STATUS_LABELS = {
  PENDING: "Pending",
  CONFIRMED: "Confirmed",
  REJECTED: "Rejected",
  CANCELLED: "Cancelled",
  COMPLETED: "Completed",
  NO_SHOW: "No-show",
};

const PAYMENT_LABELS = {
  pay_at_visit: "Pay at visit",
  awaiting_payment: "Awaiting payment",
  paid: "Paid",
  refunded: "Refunded",
};

const ACTION_LABELS = {
  confirm: "Confirm",
  reject: "Reject",
  cancel: "Cancel",
  complete: "Completed",
  "no-show": "No-show",
  move: "Move",
};

const BUTTON_CLASSES = {
  confirm: "button button-small",
  reject: "button button-small button-secondary action-danger",
  cancel: "button button-small button-secondary action-danger",
  complete: "button button-small button-secondary",
  "no-show": "button button-small button-secondary",
  move: "button button-small button-secondary",
};

// The status each move leads to (server.domain.appointments.TRANSITIONS).
export const TARGET_STATUS = {
  confirm: "CONFIRMED",
  reject: "REJECTED",
  cancel: "CANCELLED",
  complete: "COMPLETED",
  "no-show": "NO_SHOW",
};

const ALERT_TITLES = {
  booked: "New booking request",
  paid: "Booking paid",
  confirmed: "Booking confirmed",
  rejected: "Booking rejected",
  cancelled: "Booking cancelled",
  completed: "Marked completed",
  no_show: "Marked as a no-show",
  rescheduled: "Booking moved",
};

/** The moves the provider can make now (complete and no-show only once it has started; move
 * to another time only before). */
export function actionsFor(appointment, now = Date.now()) {
  const upcoming = Date.parse(appointment.start_time) > now;
  if (appointment.status === "PENDING") return upcoming ? ["confirm", "reject", "move"] : ["confirm", "reject"];
  if (appointment.status !== "CONFIRMED") return [];
  return upcoming ? ["move", "cancel"] : ["complete", "no-show", "cancel"];
}

export function timeRange(appointment, timeZone) {
  return `${formatTime(appointment.start_time, timeZone)}–${formatTime(appointment.end_time, timeZone)}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function statusBadge(status) {
  return element("span", `dash-status dash-status-${status.toLowerCase().replace("_", "-")}`, STATUS_LABELS[status] || status);
}

function paymentText(appointment) {
  const label = PAYMENT_LABELS[appointment.payment_status] || appointment.payment_status;
  if (!appointment.price_cents) return label;
  return `${formatPrice(appointment.price_cents, appointment.currency)} · ${label}`;
}

/** Buttons for each allowed move; the hidden text says whose booking, for screen readers. */
function actionButtons(appointment, timeZone) {
  const group = element("div", "row-actions");
  const whose = ` ${appointment.customer_name}, ${formatTime(appointment.start_time, timeZone)}`;
  for (const action of actionsFor(appointment)) {
    const button = element("button", BUTTON_CLASSES[action]);
    button.type = "button";
    button.dataset.action = action;
    button.append(ACTION_LABELS[action], element("span", "visually-hidden", whose));
    group.append(button);
  }
  return group;
}

function cell(label, ...content) {
  const td = element("td");
  td.setAttribute("role", "cell");
  td.dataset.label = label;
  td.append(...content);
  return td;
}

// A booking that overlaps a busy time of the provider's own calendars (kept, only flagged).
function busyMarker(appointment) {
  if (!appointment.busy_overlap) return [];
  const marker = element("span", "dash-busy-overlap", "Clashes with your calendar");
  marker.title = "One of your busy calendars has an event at this time. The booking is kept.";
  return [" ", marker];
}

export function scheduleRow(appointment, timeZone) {
  const row = element("tr", "schedule-row");
  row.setAttribute("role", "row");
  row.dataset.appointmentId = appointment.id;
  row.dataset.status = appointment.status;
  const time = element("th", "schedule-time", timeRange(appointment, timeZone));
  time.scope = "row";
  time.setAttribute("role", "rowheader");
  time.dataset.label = "Time";
  const customer = element("div", "dash-customer");
  customer.append(element("strong", "", appointment.customer_name), element("span", "muted", appointment.customer_email));
  if (appointment.customer_phone) customer.append(element("span", "muted", appointment.customer_phone));
  row.append(
    cell("Token", element("span", "dash-token", `#${appointment.token}`)),
    time,
    cell("Customer", customer),
    cell("Service", appointment.service_name),
    cell("Status", statusBadge(appointment.status), ...busyMarker(appointment)),
    cell("Payment", paymentText(appointment)),
    cell("Actions", actionButtons(appointment, timeZone)),
  );
  return row;
}

export function pendingItem(appointment, timeZone) {
  const item = element("li", "request");
  item.dataset.appointmentId = appointment.id;
  item.dataset.status = appointment.status;
  const head = element("div", "request-head");
  head.append(
    element("strong", "request-name", appointment.customer_name),
    element("span", "dash-token", `#${appointment.token}`),
  );
  const when = `${formatDay(appointment.slot_date)} · ${timeRange(appointment, timeZone)}`;
  item.append(
    head,
    element("p", "request-when", `${when} · ${appointment.service_name}`),
    element("p", "request-meta muted", `${appointment.customer_email} · ${paymentText(appointment)}`),
  );
  if (appointment.notes) item.append(element("p", "request-notes", `“${appointment.notes}”`));
  item.append(actionButtons(appointment, timeZone));
  return item;
}

/** One dismissible alert for a /ws/provider message. */
export function alertItem({ event, appointment, previous }, timeZone) {
  const item = element("li", `toast toast-${event.replace("_", "-")}`);
  item.dataset.event = event;
  item.dataset.appointmentId = appointment.id;
  const title = ALERT_TITLES[event] || "Booking updated";
  const body = element("div", "toast-body");
  let when = `${formatDay(appointment.slot_date)} ${formatTime(appointment.start_time, timeZone)}`;
  if (event === "rescheduled" && previous) {
    // start_time carries the provider's offset, so its first ten characters are their date.
    when += ` (was ${formatDay(previous.start_time.slice(0, 10))} ${formatTime(previous.start_time, timeZone)})`;
  }
  body.append(
    element("strong", "toast-title", title),
    element("span", "toast-text", `${appointment.customer_name} · ${appointment.service_name} · ${when}`),
  );
  const dismiss = element("button", "toast-dismiss");
  dismiss.type = "button";
  dismiss.dataset.dismiss = "";
  dismiss.setAttribute("aria-label", `Dismiss: ${title}, ${appointment.customer_name}`);
  dismiss.append(element("span", "", "×"));
  dismiss.firstChild.setAttribute("aria-hidden", "true");
  item.append(body, dismiss);
  return item;
}
