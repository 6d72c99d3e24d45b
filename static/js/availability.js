// /availability: the provider's time off (add a range, list, remove; bookings it leaves in place
// come back as conflicts) and a month calendar of closed days, time off and date overrides
// across the provider's services.
import { clearErrors, formValues, getJSON, sendJSON, showAPIError, showFieldError, whileBusy } from "./api.js";
import { showConflicts } from "./conflicts.js";
import { addDays, formatDay, todayIn } from "./formatting.js";
import { MonthCalendar } from "./month-calendar.js";
import { wallClock } from "./slot-preview.js";

const WEEKDAY_KEYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const ALIASES = { starts_at: "starts_on", ends_at: "ends_on" };
const CONFLICTS_INTRO =
  "These bookings fall inside your time off. They were kept: contact the customers, or move or cancel them from your schedule.";

const root = document.querySelector("[data-availability]");
const timeZone = root.dataset.timezone;
const today = todayIn(timeZone);
const form = root.querySelector("[data-time-off-form]");
const saved = form.querySelector("[data-time-off-saved]");
const list = root.querySelector("[data-time-off-list]");
const listStatus = root.querySelector("[data-time-off-status]");
const conflictsBox = root.querySelector("[data-conflicts]");
const details = root.querySelector("[data-day-details]");
const state = { timeOff: [], services: [], overrides: new Map(), picked: null };

// --- Days and ranges on the provider's wall clock ---------------------------------------------------

function weekdayKey(day) {
  const [year, month, date] = day.split("-").map(Number);
  return WEEKDAY_KEYS[new Date(Date.UTC(year, month - 1, date)).getUTCDay()];
}

function withWallClock(entry) {
  return {
    ...entry,
    start: wallClock(new Date(entry.starts_at), timeZone),
    end: wallClock(new Date(entry.ends_at), timeZone),
  };
}

/** "Thu 24 Dec – Sat 26 Dec, whole days", "Mon 7 Dec, 09:00–13:00", … */
function rangeText(entry) {
  const [startDay, startTime] = entry.start.split("T");
  const [endDay, endTime] = entry.end.split("T");
  if (startTime === "00:00" && endTime === "00:00") {
    const last = addDays(endDay, -1);
    return last === startDay ? `${formatDay(startDay)}, all day` : `${formatDay(startDay)} – ${formatDay(last)}, all day`;
  }
  if (startDay === endDay) return `${formatDay(startDay)}, ${startTime}–${endTime}`;
  return `${formatDay(startDay)} ${startTime} – ${formatDay(endDay)} ${endTime}`;
}

function timeOffOn(day) {
  const dayStart = `${day}T00:00`;
  const dayEnd = `${addDays(day, 1)}T00:00`;
  return state.timeOff
    .filter((entry) => entry.start < dayEnd && entry.end > dayStart)
    .map((entry) => ({ entry, whole: entry.start <= dayStart && entry.end >= dayEnd }));
}

/** Each service's hours on `day`: its date override's, else its weekday's. */
function serviceHoursOn(day) {
  return state.services.map((service) => {
    const own = state.overrides.get(service.id)?.get(day);
    return { service, hours: own ?? service.hours[weekdayKey(day)] ?? [], overridden: own !== undefined };
  });
}

function intervalsText(hours) {
  return hours.map(([start, end]) => `${start}–${end}`).join(", ");
}

// --- The month calendar -------------------------------------------------------------------------

function describe(day) {
  const offs = timeOffOn(day);
  const services = serviceHoursOn(day);
  const allClosed = services.length > 0 && services.every(({ hours }) => !hours.length);
  const kinds = [];
  const words = [];
  if (offs.some(({ whole }) => whole)) {
    kinds.push("is-closed");
    words.push("time off");
  } else if (offs.length) {
    kinds.push("has-time-off");
    words.push("time off for part of the day");
  }
  if (services.some(({ overridden }) => overridden)) {
    kinds.push("is-override");
    words.push("different hours");
  }
  if (allClosed && !kinds.includes("is-closed")) {
    kinds.push(services.some(({ overridden }) => overridden) ? "is-closed" : "is-usually-closed");
    words.push("closed");
  }
  return kinds.length ? { kinds, text: words.join(", ") } : null;
}

function noteItem(text, link) {
  const item = document.createElement("li");
  item.append(text);
  if (link) {
    const anchor = document.createElement("a");
    anchor.href = link.href;
    anchor.textContent = link.text;
    item.append(" ", anchor);
  }
  return item;
}

function showDay(day) {
  state.picked = day;
  const notes = [];
  for (const { entry, whole } of timeOffOn(day)) {
    const reason = entry.reason ? ` (${entry.reason})` : "";
    notes.push(noteItem(whole ? `Time off all day${reason}.` : `Time off: ${rangeText(entry)}${reason}.`));
  }
  for (const { service, hours, overridden } of serviceHoursOn(day)) {
    const open = hours.length ? `open ${intervalsText(hours)}` : "closed";
    const text = `${service.name}: ${open}${overridden ? " (this date only)" : ""}.`;
    notes.push(noteItem(text, { href: `/services/${service.id}/edit`, text: `Change ${service.name}'s hours` }));
  }
  if (!notes.length) notes.push(noteItem("No services yet."));
  details.querySelector("[data-day-title]").textContent = formatDay(day, "long");
  details.querySelector("[data-day-notes]").replaceChildren(...notes);
  details.hidden = false;
}

const calendar = new MonthCalendar(root.querySelector("[data-month-calendar]"), {
  today,
  id: "month-calendar",
  describe,
  onPick: showDay,
});

function refresh() {
  calendar.render();
  if (state.picked) showDay(state.picked);
  renderList();
}

// --- Time off: the list -----------------------------------------------------------------------

function timeOffItem(entry) {
  const item = document.createElement("li");
  item.className = "time-off-item";
  item.dataset.timeOffId = entry.id;
  const when = document.createElement("strong");
  when.textContent = rangeText(entry);
  item.append(when);
  if (entry.reason) {
    const reason = document.createElement("span");
    reason.className = "muted";
    reason.textContent = entry.reason;
    item.append(reason);
  }
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "link-button";
  remove.dataset.removeTimeOff = entry.id;
  const hidden = document.createElement("span");
  hidden.className = "visually-hidden";
  hidden.textContent = ` time off ${rangeText(entry)}`;
  remove.append("Remove", hidden);
  item.append(remove);
  return item;
}

function renderList() {
  const entries = [...state.timeOff].sort((a, b) => a.start.localeCompare(b.start));
  list.replaceChildren(...entries.map(timeOffItem));
  if (!entries.length) listStatus.textContent = "No time off planned.";
  listStatus.hidden = entries.length > 0;
}

async function removeTimeOff(id) {
  const { ok, data } = await sendJSON(`/api/providers/me/time-off/${encodeURIComponent(id)}`, undefined, "DELETE");
  listStatus.hidden = false;
  if (!ok) {
    listStatus.textContent = (data && data.error && data.error.message) || "We couldn't remove that time off.";
    return;
  }
  state.timeOff = state.timeOff.filter((entry) => entry.id !== id);
  showConflicts(conflictsBox, [], timeZone, "");
  refresh();
  listStatus.hidden = false;
  listStatus.textContent = "Time off removed: its free times are back.";
  root.querySelector("#time-off-list-heading").focus();
}

list.addEventListener("click", (event) => {
  const button = event.target.closest("[data-remove-time-off]");
  if (button) removeTimeOff(button.dataset.removeTimeOff);
});

// --- Time off: the form -----------------------------------------------------------------------

function readRange() {
  const values = formValues(form);
  const problems = [];
  if (!values.starts_on) problems.push(["starts_on", "Choose the first day."]);
  if (!values.ends_on) problems.push(["ends_on", "Choose the last day."]);
  if (problems.length) return { problems };
  const startsAt = `${values.starts_on}T${values.starts_at_time || "00:00"}:00`;
  const endsAt = values.ends_at_time ? `${values.ends_on}T${values.ends_at_time}:00` : `${addDays(values.ends_on, 1)}T00:00:00`;
  if (endsAt <= startsAt) {
    const field = values.ends_on === values.starts_on && values.ends_at_time ? "ends_at_time" : "ends_on";
    problems.push([field, "The time off must end after it starts."]);
  }
  const body = { starts_at: startsAt, ends_at: endsAt };
  if (values.reason.trim()) body.reason = values.reason.trim();
  return { body, problems };
}

async function addTimeOff(event) {
  event.preventDefault();
  clearErrors(form);
  saved.textContent = "";
  const { body, problems } = readRange();
  if (problems.length) {
    for (const [name, message] of problems) showFieldError(form, name, message);
    form.querySelector(`#${problems[0][0]}`).focus();
    return;
  }
  const { ok, data } = await whileBusy(form, () => sendJSON("/api/providers/me/time-off", body));
  if (!ok) {
    showAPIError(form, data, ALIASES);
    return;
  }
  const entry = withWallClock(data.time_off);
  state.timeOff.push(entry);
  form.reset();
  refresh();
  const conflicts = data.conflicts || [];
  saved.textContent = `Added: ${rangeText(entry)}.${conflicts.length ? "" : " No bookings were affected."}`;
  showConflicts(conflictsBox, conflicts, timeZone, CONFLICTS_INTRO);
}

// The last day follows the first until the provider picks one of their own.
form.starts_on.addEventListener("change", () => {
  if (!form.ends_on.value || form.ends_on.value < form.starts_on.value) form.ends_on.value = form.starts_on.value;
  form.ends_on.min = form.starts_on.value || today;
});

details.querySelector("[data-take-day-off]").addEventListener("click", () => {
  form.starts_on.value = state.picked;
  form.ends_on.value = state.picked;
  form.starts_at_time.value = "";
  form.ends_at_time.value = "";
  form.reason.focus();
});

form.addEventListener("submit", addTimeOff);
form.starts_on.min = today;
form.ends_on.min = today;

// --- Loading ----------------------------------------------------------------------------------

async function load() {
  const [timeOff, services] = await Promise.all([getJSON("/api/providers/me/time-off"), getJSON("/api/providers/me/services")]);
  if (!timeOff.ok) {
    listStatus.textContent = (timeOff.data && timeOff.data.error && timeOff.data.error.message) || "We couldn't load your time off.";
    return;
  }
  state.timeOff = timeOff.data.time_off.map(withWallClock);
  state.services = services.ok ? services.data.services.filter((service) => service.is_active) : [];
  const overrides = await Promise.all(
    state.services.map((service) => getJSON(`/api/services/${encodeURIComponent(service.id)}/date-overrides`)),
  );
  state.services.forEach((service, index) => {
    const found = overrides[index].ok ? overrides[index].data.overrides : [];
    state.overrides.set(service.id, new Map(found.map((override) => [override.date, override.hours])));
  });
  refresh();
}

load();
