// The dashboard: pending requests, the day's schedule and live alerts for a provider, plus
// payouts, the provider's services and their figures (dashboard-stats.js).
import { AlertsPanel } from "./alerts-panel.js";
import { getJSON, sendJSON } from "./api.js";
import { STATUS_LABELS, TARGET_STATUS, alertItem, pendingItem, scheduleRow, timeRange } from "./dashboard-rows.js";
import { startStats } from "./dashboard-stats.js";
import { addDays, formatDay, formatPrice, todayIn } from "./formatting.js";
import { askNewTime } from "./move-dialog.js";
import { connectPayouts } from "./payouts.js";
import { ProviderFeed } from "./provider-feed.js";

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const FEED_LABELS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", off: "Offline" };

const connectButton = document.querySelector("[data-connect-payouts]");
if (connectButton) {
  connectButton.addEventListener("click", () =>
    connectPayouts(connectButton, document.querySelector("[data-payouts-error]")),
  );
}

const servicesList = document.querySelector("[data-services-list]");
if (servicesList) loadServices(servicesList, document.querySelector("[data-services-status]"));

const root = document.querySelector("[data-dashboard]");
if (root) startProviderDashboard(root);

// --- Pending requests, schedule and live alerts ---------------------------------------------------

const PENDING_SHOWN = 5;

function startProviderDashboard(root) {
  const timeZone = root.dataset.timezone;
  const find = (selector) => root.parentElement.querySelector(selector);
  const view = {
    pendingList: find("[data-pending-list]"),
    pendingStatus: find("[data-pending-status]"),
    pendingCount: find("[data-pending-count]"),
    pendingMore: find("[data-pending-more]"),
    scheduleTable: find("[data-schedule-table]"),
    scheduleBody: find("[data-schedule-body]"),
    scheduleStatus: find("[data-schedule-status]"),
    scheduleDay: find("[data-schedule-day]"),
    scheduleCaption: find("[data-schedule-caption]"),
    dateInput: find("[data-date-input]"),
    error: find("[data-dash-error]"),
    announce: find("[data-dash-announce]"),
    feedStatus: find("[data-feed-status]"),
    dialog: find("[data-reason-dialog]"),
    moveDialog: find("[data-move-dialog]"),
  };
  // `ownMoves` holds "id:STATUS" for moves made from this page, so their echo on the socket
  // updates the lists without raising an alert about what the provider just did.
  const state = {
    day: initialDay(timeZone),
    schedule: [],
    pending: [],
    showAllPending: false,
    ownMoves: new Set(),
  };
  view.pendingMore.addEventListener("click", () => {
    state.showAllPending = !state.showAllPending;
    renderPending();
  });
  const alerts = new AlertsPanel(find("[data-alerts-panel]"));
  const stats = startStats({ cards: find("[data-stats]"), charts: find("[data-stats-charts]") });
  let connectedBefore = false;

  async function loadPending() {
    const { ok, data } = await getJSON("/api/dashboard/appointments?status=PENDING");
    if (!ok) return showError(data);
    state.pending = data.appointments;
    renderPending();
  }

  async function loadSchedule() {
    const day = state.day;
    const { ok, data } = await getJSON(`/api/dashboard/schedule?date=${day}`);
    if (day !== state.day) return; // the provider moved on to another day meanwhile
    if (!ok) return showError(data);
    state.schedule = data.appointments;
    renderSchedule();
  }

  function refresh() {
    loadPending();
    loadSchedule();
  }

  function renderPending() {
    const count = state.pending.length;
    // The soonest few first, so a busy week doesn't push the day's schedule off the screen.
    const shown = state.showAllPending ? state.pending : state.pending.slice(0, PENDING_SHOWN);
    view.pendingList.replaceChildren(...shown.map((item) => pendingItem(item, timeZone)));
    view.pendingMore.hidden = count <= PENDING_SHOWN;
    view.pendingMore.textContent = state.showAllPending ? "Show fewer" : `Show all ${count} requests`;
    view.pendingMore.setAttribute("aria-expanded", String(Boolean(state.showAllPending)));
    view.pendingCount.textContent = String(count);
    view.pendingCount.hidden = count === 0;
    view.pendingStatus.textContent = count ? "" : "No requests waiting for an answer.";
    view.pendingStatus.hidden = count > 0;
  }

  function renderSchedule() {
    const rows = state.schedule.map((item) => scheduleRow(item, timeZone));
    view.scheduleBody.replaceChildren(...rows);
    view.scheduleTable.hidden = rows.length === 0;
    view.scheduleStatus.hidden = rows.length > 0;
    view.scheduleStatus.textContent = rows.length ? "" : "No bookings on this day.";
  }

  function showDay(day, { push }) {
    state.day = day;
    view.dateInput.value = day;
    const today = todayIn(timeZone);
    const label = `${formatDay(day, "long")}${day === today ? " · Today" : ""}`;
    view.scheduleDay.textContent = label;
    view.scheduleCaption.textContent = `Appointments on ${label}`;
    if (push) window.history.pushState({ day }, "", `?date=${day}`);
    state.schedule = [];
    view.scheduleStatus.textContent = "Loading the schedule…";
    view.scheduleStatus.hidden = false;
    view.scheduleTable.hidden = true;
    loadSchedule();
  }

  /** A change from the socket or from our own move: keep both lists in step with it. */
  function apply(appointment) {
    const others = (items) => items.filter((item) => item.id !== appointment.id);
    state.pending = others(state.pending);
    if (appointment.status === "PENDING") state.pending.push(appointment);
    state.pending.sort(byStart);
    renderPending();
    // A moved booking may leave the day shown, or come into it.
    const wasShown = state.schedule.some((item) => item.id === appointment.id);
    if (appointment.slot_date === state.day || wasShown) {
      state.schedule = others(state.schedule);
      if (appointment.slot_date === state.day) state.schedule = [...state.schedule, appointment].sort(byStart);
      renderSchedule();
    }
  }

  function onAppointment(frame) {
    const key = `${frame.appointment.id}:${frame.appointment.status}`;
    apply(frame.appointment);
    stats.refreshSoon(); // our own moves too: completing a booking moves the earnings
    if (state.ownMoves.delete(key)) return;
    alerts.add(alertItem(frame, timeZone));
  }

  function onResync() {
    refresh();
    // The first connection follows the page's own first load; later ones may have missed changes.
    if (connectedBefore) stats.refreshSoon();
    connectedBefore = true;
  }

  async function move(action, id, trigger) {
    const appointment = [...state.pending, ...state.schedule].find((item) => item.id === id);
    if (!appointment) return;
    let body;
    if (action === "reject" || action === "cancel") {
      const reason = await askReason(view.dialog, action, appointment, timeZone);
      if (reason === null) return;
      body = reason ? { reason } : undefined;
    }
    let path = action;
    if (action === "move") {
      const slot = await askNewTime(view.moveDialog, appointment, timeZone);
      if (slot === null) return;
      path = "reschedule";
      body = { slot_id: slot.id };
    }
    const key = `${id}:${TARGET_STATUS[action] || appointment.status}`;
    state.ownMoves.add(key);
    view.error.hidden = true;
    for (const button of root.querySelectorAll(`[data-appointment-id="${id}"] [data-action]`)) button.disabled = true;
    const section = trigger.closest("section");
    const { ok, data } = await sendJSON(`/api/appointments/${id}/${path}`, body);
    if (ok) {
      apply(data.appointment);
      view.announce.textContent =
        action === "move"
          ? `${appointment.customer_name}'s booking is moved to ${formatDay(data.appointment.slot_date)} ${timeRange(data.appointment, timeZone)}.`
          : `${appointment.customer_name}'s booking is now ${STATUS_LABELS[data.appointment.status].toLowerCase()}.`;
    } else {
      state.ownMoves.delete(key);
      showError(data);
      refresh();
    }
    // The row that held the focus was redrawn: put the focus back at the top of its list.
    if (!document.activeElement || document.activeElement === document.body) {
      section.querySelector("h2").focus();
    }
  }

  function showError(data) {
    view.error.textContent = (data && data.error && data.error.message) || "Something went wrong. Please try again.";
    view.error.hidden = false;
  }

  root.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (button) move(button.dataset.action, button.closest("[data-appointment-id]").dataset.appointmentId, button);
  });
  for (const button of root.querySelectorAll("[data-day-step]")) {
    button.addEventListener("click", () => showDay(addDays(state.day, Number(button.dataset.dayStep)), { push: true }));
  }
  root.querySelector("[data-today]").addEventListener("click", () => showDay(todayIn(timeZone), { push: true }));
  view.dateInput.addEventListener("change", () => {
    if (DAY_PATTERN.test(view.dateInput.value)) showDay(view.dateInput.value, { push: true });
  });
  window.addEventListener("popstate", () => showDay(initialDay(timeZone), { push: false }));
  // Complete and no-show become possible as start times pass.
  setInterval(renderSchedule, 60_000);

  showDay(state.day, { push: false });
  loadPending();
  const feed = new ProviderFeed({
    onAppointment,
    onResync,
    onState(name) {
      view.feedStatus.dataset.state = name;
      view.feedStatus.textContent = FEED_LABELS[name];
    },
  });
  // A handle for the browser tests (they close the socket to check the page recovers).
  window.providerFeed = feed.start();
}

function initialDay(timeZone) {
  const asked = new URLSearchParams(window.location.search).get("date");
  return asked && DAY_PATTERN.test(asked) ? asked : todayIn(timeZone);
}

function byStart(a, b) {
  return Date.parse(a.start_time) - Date.parse(b.start_time);
}

/** Ask for an optional reason before a reject or cancel; null when the provider backs out. */
function askReason(dialog, action, appointment, timeZone) {
  const rejecting = action === "reject";
  dialog.querySelector("[data-reason-title]").textContent = rejecting ? "Reject this booking request?" : "Cancel this booking?";
  dialog.querySelector("[data-reason-summary]").textContent =
    `${appointment.customer_name} · ${appointment.service_name} · ${formatDay(appointment.slot_date)} ${timeRange(appointment, timeZone)}`;
  dialog.querySelector("[data-reason-submit]").textContent = rejecting ? "Reject booking" : "Cancel booking";
  dialog.querySelector("[data-reason-keep]").textContent = rejecting ? "Keep the request" : "Keep the booking";
  const input = dialog.querySelector("[data-reason-input]");
  input.value = "";
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "go" ? input.value.trim() : null), { once: true });
    dialog.showModal();
  });
}

// --- Services -----------------------------------------------------------------------------------

// The provider's own services, deleted ones included (shown as such).
async function loadServices(list, status) {
  const { ok, data } = await getJSON("/api/providers/me/services");
  if (!ok) {
    status.textContent = (data && data.error && data.error.message) || "We couldn't load your services.";
    return;
  }
  const services = data.services || [];
  list.replaceChildren(...services.map(serviceItem));
  status.textContent = services.length ? "" : "No services yet. Add your first one so customers can book you.";
  status.hidden = services.length > 0;
}

function serviceItem(service) {
  const item = document.createElement("li");
  item.className = "service-item";
  item.dataset.serviceId = service.id;
  const title = document.createElement("a");
  title.href = `/services/${service.id}`;
  title.className = "service-name";
  title.textContent = service.name;
  const meta = document.createElement("p");
  meta.className = "service-meta";
  meta.textContent = [formatPrice(service.price_cents, service.currency), `${service.duration_minutes} min`, service.category]
    .filter(Boolean)
    .join(" · ");
  item.append(title, meta);
  if (service.is_active === false) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "Inactive";
    item.append(badge);
  } else {
    item.append(editLink(service));
  }
  return item;
}

// "Edit" with the service's name for screen readers: hours, rules and single dates live there.
function editLink(service) {
  const link = document.createElement("a");
  link.className = "service-edit-link";
  link.href = `/services/${service.id}/edit`;
  const name = document.createElement("span");
  name.className = "visually-hidden";
  name.textContent = ` ${service.name}`;
  link.append("Edit", name);
  return link;
}
