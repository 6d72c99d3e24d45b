// /services/{id}/edit: the owner changes a service's details, price, weekly hours and booking
// rules (saved together with one PATCH of what changed), its date overrides (date-overrides.js,
// saved one date at a time), and sees the next free times with the settings on the page beside
// the ones customers can book now.
import { clearErrors, getJSON, sendJSON, showAPIError, showFieldError, whileBusy } from "./api.js";
import { DateOverrides } from "./date-overrides.js";
import { addDays, todayIn } from "./formatting.js";
import { checkHours, readHours, setUpHoursEditor } from "./hours-editor.js";
import { selectedDecimals, toMinorUnits } from "./money-input.js";
import { UNIT_MINUTES, bufferText, cancelText, horizonText, noticeText, span } from "./rule-text.js";
import { groupByDay, renderTimes } from "./preview-list.js";
import { previewFreeTimes, wallClock } from "./slot-preview.js";

const PREVIEW_DAYS = 14;
const PREVIEW_LIMIT = 8;
const ALIASES = {
  price_cents: "price",
  invalid_price: "price",
  min_notice_minutes: "notice_amount",
  buffer_minutes: "buffer_amount",
  cancel_cutoff_minutes: "cancel_amount",
};
const RULES = {
  notice: { field: "min_notice_minutes", say: noticeText },
  buffer: { field: "buffer_minutes", say: bufferText },
  cancel: { field: "cancel_cutoff_minutes", say: cancelText },
};

const form = document.querySelector("[data-edit-service]");
const editor = form.querySelector(".hours-editor");
const currency = form.querySelector("#currency");
const saveStatus = form.querySelector("[data-save-status]");
const serviceId = form.dataset.serviceId;
const timeZone = form.dataset.timezone;
const preview = {
  draft: document.querySelector("[data-preview-draft]"),
  badge: document.querySelector("[data-preview-badge]"),
  live: document.querySelector("[data-preview-live]"),
  liveStatus: document.querySelector("[data-preview-live-status]"),
};
let timeOff = [];
let overrides = null;

// --- Reading the form ---------------------------------------------------------------------------

function ruleMinutes(name) {
  const amount = form.querySelector(`#${name}_amount`).value.trim();
  const unit = form.elements[`${name}_unit`].value;
  if (!/^\d+$/.test(amount)) return null;
  return Number(amount) * UNIT_MINUTES[unit];
}

function optional(value) {
  const trimmed = value.trim();
  return trimmed ? trimmed : null;
}

/** Every field of the service as the API names it (null where the entry is not a number). */
function readService() {
  const whole = (id) => (/^\d+$/.test(form.querySelector(id).value.trim()) ? Number(form.querySelector(id).value) : null);
  const body = {
    name: form.querySelector("#name").value.trim(),
    description: form.querySelector("#description").value.trim(),
    category: optional(form.querySelector("#category").value),
    location: optional(form.querySelector("#location").value),
    price_cents: toMinorUnits(form.querySelector("#price").value, selectedDecimals(currency)),
    currency: currency.value,
    duration_minutes: whole("#duration_minutes"),
    max_appointments_per_day: whole("#max_appointments_per_day"),
    hours: readHours(editor),
    horizon_days: whole("#horizon_days"),
  };
  for (const [name, rule] of Object.entries(RULES)) body[rule.field] = ruleMinutes(name);
  return body;
}

let saved = readService();

function changedFields(body) {
  return Object.fromEntries(Object.entries(body).filter(([key, value]) => JSON.stringify(value) !== JSON.stringify(saved[key])));
}

// --- Checking before sending --------------------------------------------------------------------

function localProblems(body) {
  const problems = [];
  if (!body.name) problems.push(["name", "Enter a name."]);
  if (body.price_cents === null) {
    problems.push(["price", `Enter a price like ${selectedDecimals(currency) === 0 ? "4500" : "45.00"}.`]);
  }
  if (body.duration_minutes === null) problems.push(["duration_minutes", "Enter the length in minutes."]);
  if (body.max_appointments_per_day === null) problems.push(["max_appointments_per_day", "Enter a number."]);
  if (body.horizon_days === null || body.horizon_days < 1 || body.horizon_days > 365) {
    problems.push(["horizon_days", "Enter a number of days from 1 to 365."]);
  }
  for (const [name, rule] of Object.entries(RULES)) {
    const max = Number(form.querySelector(`[data-rule="${name}"]`).dataset.maxMinutes);
    const minutes = body[rule.field];
    if (minutes === null) problems.push([`${name}_amount`, "Enter a whole number (0 turns this rule off)."]);
    else if (minutes > max) problems.push([`${name}_amount`, `At most ${span(max)}.`]);
  }
  for (const [day, message] of Object.entries(checkHours(editor))) problems.push([`hours-${day}`, message]);
  return problems;
}

function showHoursErrors(payload) {
  const fields = payload?.error?.fields || {};
  for (const [path, message] of Object.entries(fields)) {
    const [head, day] = path.split(".");
    if (head === "hours") showFieldError(form, day ? `hours-${day}` : "hours", message);
  }
}

async function save(event) {
  event.preventDefault();
  clearErrors(form);
  saveStatus.textContent = "";
  const body = readService();
  const problems = localProblems(body);
  if (problems.length) {
    for (const [name, message] of problems) showFieldError(form, name, message);
    const first = form.querySelector(`#${CSS.escape(problems[0][0])}`) || form.querySelector(`#${CSS.escape(problems[0][0])}-error`);
    first?.focus?.();
    first?.scrollIntoView({ block: "center" });
    return;
  }
  const changes = changedFields(body);
  if (!Object.keys(changes).length) {
    saveStatus.textContent = "Nothing has changed since the last save.";
    return;
  }
  const { ok, data } = await whileBusy(form, () => sendJSON(`/api/services/${encodeURIComponent(serviceId)}`, changes, "PATCH"));
  if (!ok) {
    showHoursErrors(data);
    showAPIError(form, data, ALIASES);
    return;
  }
  saved = body;
  document.title = document.title.replace(/^Edit .*? ·/, `Edit ${data.service.name} ·`);
  document.querySelector("h1").textContent = `Edit ${data.service.name}`;
  saveStatus.textContent = "Saved. Customers see the new times now.";
  refreshPreview();
  loadBookableTimes();
}

// --- The rules' sentences and the preview ---------------------------------------------------------

function sayRules() {
  const horizon = Number(form.querySelector("#horizon_days").value);
  form.querySelector("#horizon-says").textContent = horizon >= 1 ? horizonText(horizon) : "";
  for (const [name, rule] of Object.entries(RULES)) {
    const minutes = ruleMinutes(name);
    form.querySelector(`#${name}-says`).textContent = minutes === null ? "" : rule.say(minutes);
  }
}

function refreshPreview() {
  const body = readService();
  const unsaved = Object.keys(changedFields(body)).length > 0;
  preview.badge.textContent = unsaved ? "Not saved yet" : "Saved";
  preview.badge.classList.toggle("badge-warn", unsaved);
  if (overrides === null) return;
  const usable = body.duration_minutes > 0 && body.max_appointments_per_day > 0 && body.horizon_days > 0;
  const times = usable
    ? previewFreeTimes(
        {
          hours: body.hours,
          overrides: overrides.byDate(),
          durationMinutes: body.duration_minutes,
          bufferMinutes: body.buffer_minutes || 0,
          maxPerDay: body.max_appointments_per_day,
          noticeMinutes: body.min_notice_minutes || 0,
          horizonDays: body.horizon_days,
        },
        { timeZone, timeOff, days: PREVIEW_DAYS, limit: PREVIEW_LIMIT },
      )
    : [];
  renderTimes(preview.draft, groupByDay(times), `No free times in the next ${PREVIEW_DAYS} days.`);
}

async function loadBookableTimes() {
  const today = todayIn(timeZone);
  const url = `/api/services/${encodeURIComponent(serviceId)}/slots?from=${today}&to=${addDays(today, PREVIEW_DAYS - 1)}`;
  preview.live.setAttribute("aria-busy", "true");
  const { ok, data } = await getJSON(url);
  preview.live.removeAttribute("aria-busy");
  if (!ok) {
    preview.liveStatus.textContent = (data && data.error && data.error.message) || "We couldn't load the times.";
    return;
  }
  const now = wallClock(new Date(), timeZone);
  const free = data.slots
    .filter((slot) => slot.available && wallClock(new Date(slot.start_time), timeZone) > now)
    .slice(0, PREVIEW_LIMIT)
    .map((slot) => ({ day: slot.slot_date, time: wallClock(new Date(slot.start_time), timeZone).slice(11) }));
  preview.liveStatus.textContent = "";
  preview.liveStatus.hidden = true;
  renderTimes(preview.live, groupByDay(free), `No free times in the next ${PREVIEW_DAYS} days.`);
}

async function loadTimeOff() {
  const { ok, data } = await getJSON("/api/providers/me/time-off");
  if (!ok) return;
  timeOff = data.time_off.map((entry) => ({
    start: wallClock(new Date(entry.starts_at), timeZone),
    end: wallClock(new Date(entry.ends_at), timeZone),
    entry,
  }));
}

// --- Wiring ---------------------------------------------------------------------------------------

let pending = 0;
function refreshSoon() {
  cancelAnimationFrame(pending);
  pending = requestAnimationFrame(() => {
    sayRules();
    refreshPreview();
  });
}

setUpHoursEditor(editor);
form.addEventListener("submit", save);
form.addEventListener("input", refreshSoon);
form.addEventListener("change", refreshSoon);
// Adding or removing an interval changes the hours without an input event.
editor.addEventListener("click", refreshSoon);
sayRules();

overrides = new DateOverrides(document.querySelector("[data-overrides]"), {
  serviceId,
  timeZone,
  usualHours: () => readHours(editor),
  timeOff: () => timeOff,
  onChange() {
    refreshPreview();
    loadBookableTimes();
  },
});
Promise.all([loadTimeOff(), overrides.load()]).then(() => {
  overrides.render(); // time off marks the calendar too
  refreshPreview();
});
loadBookableTimes();
