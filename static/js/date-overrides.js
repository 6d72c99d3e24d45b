// The service editor's date overrides: a month calendar marking closed dates and dates with
// other hours; picking a date opens a one-day hours editor that saves it at once (PUT) or gives
// it back its usual hours (DELETE). Bookings the change leaves in place come back as conflicts.
import { clearErrors, getJSON, sendJSON, showAPIError, showFieldError } from "./api.js";
import { showConflicts } from "./conflicts.js";
import { addDays, formatDay, todayIn } from "./formatting.js";
import { addInterval, checkHours, readHours, setUpHoursEditor } from "./hours-editor.js";
import { MonthCalendar } from "./month-calendar.js";

const WEEKDAY_KEYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const ALIASES = { hours: "hours-override" };

function weekdayKey(day) {
  const [year, month, date] = day.split("-").map(Number);
  return WEEKDAY_KEYS[new Date(Date.UTC(year, month - 1, date)).getUTCDay()];
}

function weekdayName(day) {
  const [year, month, date] = day.split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { weekday: "long", timeZone: "UTC" }).format(new Date(Date.UTC(year, month - 1, date)));
}

function intervalsText(hours) {
  return hours.map(([start, end]) => `${start}–${end}`).join(", ");
}

export class DateOverrides {
  /**
   * @param {HTMLElement} root the [data-overrides] section
   * @param {{serviceId: string, timeZone: string, usualHours: () => object,
   *          timeOff: () => Array<{start: string, end: string}>, onChange: () => void}} options
   */
  constructor(root, { serviceId, timeZone, usualHours, timeOff, onChange }) {
    this.root = root;
    this.base = `/api/services/${encodeURIComponent(serviceId)}/date-overrides`;
    this.timeZone = timeZone;
    this.usualHours = usualHours;
    this.timeOff = timeOff;
    this.onChange = onChange;
    this.overrides = new Map();
    this.day = null;
    this.form = root.querySelector("[data-override-form]");
    this.dayEditor = this.form.querySelector(".override-day");
    this.dayRow = this.dayEditor.querySelector("[data-day]");
    this.removeButton = this.form.querySelector("[data-override-remove]");
    this.saved = this.form.querySelector("[data-override-saved]");
    this.list = root.querySelector("[data-override-list]");
    this.listStatus = root.querySelector("[data-override-status]");
    this.conflicts = root.querySelector("[data-conflicts]");
    this.calendar = new MonthCalendar(root.querySelector("[data-override-calendar]"), {
      today: todayIn(timeZone),
      id: "override-calendar",
      describe: (day) => this.describe(day),
      onPick: (day) => this.open(day),
    });
    setUpHoursEditor(this.dayEditor);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.removeButton.addEventListener("click", () => this.remove(this.day));
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-date]");
      if (!button) return;
      if (button.dataset.action === "remove") this.remove(button.dataset.date);
      else this.calendar.pick(button.dataset.date);
    });
  }

  byDate() {
    return Object.fromEntries(this.overrides);
  }

  async load() {
    const { ok, data } = await getJSON(this.base);
    if (!ok) {
      this.listStatus.textContent = (data && data.error && data.error.message) || "We couldn't load your dates.";
      return;
    }
    this.overrides = new Map(data.overrides.map((override) => [override.date, override.hours]));
    this.render();
  }

  describe(day) {
    const own = this.overrides.get(day);
    if (own) {
      return own.length
        ? { kinds: ["is-override"], text: `different hours, ${intervalsText(own)}` }
        : { kinds: ["is-closed"], text: "closed on this date" };
    }
    const dayStart = `${day}T00:00`;
    const dayEnd = `${addDays(day, 1)}T00:00`;
    const offs = this.timeOff().filter((entry) => entry.start < dayEnd && entry.end > dayStart);
    if (offs.some((entry) => entry.start <= dayStart && entry.end >= dayEnd)) return { kinds: ["is-closed"], text: "time off all day" };
    if (offs.length) return { kinds: ["has-time-off"], text: "time off for part of the day" };
    if (!(this.usualHours()[weekdayKey(day)] || []).length) return { kinds: ["is-usually-closed"], text: "usually closed" };
    return null;
  }

  render() {
    this.calendar.render();
    const upcoming = [...this.overrides.entries()].sort(([a], [b]) => a.localeCompare(b));
    this.listStatus.textContent = upcoming.length ? "" : "No dates with different hours yet.";
    this.listStatus.hidden = upcoming.length > 0;
    this.list.replaceChildren(...upcoming.map(([day, hours]) => this.listItem(day, hours)));
  }

  listItem(day, hours) {
    const item = document.createElement("li");
    item.className = "override-item";
    const when = document.createElement("strong");
    when.textContent = formatDay(day);
    const what = document.createElement("span");
    what.className = hours.length ? "override-hours" : "override-closed";
    what.textContent = hours.length ? intervalsText(hours) : "Closed";
    const actions = document.createElement("span");
    actions.className = "override-actions";
    actions.append(this.listButton(day, "change", "Change"), this.listButton(day, "remove", "Remove"));
    item.append(when, what, actions);
    return item;
  }

  listButton(day, action, text) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.dataset.date = day;
    button.dataset.action = action;
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = ` ${formatDay(day, "long")}`;
    button.append(text, hidden);
    return button;
  }

  /** Show the one-day editor for `day`: its override's hours, else its weekday's. */
  open(day) {
    this.day = day;
    const label = formatDay(day, "long");
    const own = this.overrides.get(day);
    const usual = this.usualHours()[weekdayKey(day)] || [];
    const hours = own ?? usual;
    clearErrors(this.form);
    this.saved.textContent = "";
    this.root.querySelector("[data-override-empty]").hidden = true;
    this.form.hidden = false;
    this.form.querySelector("[data-override-title]").textContent = label;
    const usually = `Usually ${usual.length ? intervalsText(usual) : "closed"} on ${weekdayName(day)}s.`;
    this.form.querySelector("[data-override-usual]").textContent = own ? `This date has its own hours. ${usually}` : usually;
    this.removeButton.hidden = !own;
    this.fillDay(label, hours);
    this.form.querySelector("[data-override-title]").focus();
  }

  fillDay(label, hours) {
    const row = this.dayRow;
    row.dataset.dayLabel = label;
    row.querySelector(".day-name").textContent = label;
    const toggle = row.querySelector("[data-day-open]");
    toggle.setAttribute("aria-label", `Open on ${label}`);
    row.querySelector("[data-intervals]").replaceChildren();
    for (const [start, end] of hours) addInterval(row, start, end);
    const open = hours.length > 0;
    toggle.checked = open;
    row.querySelector("[data-day-body]").hidden = !open;
    row.querySelector("[data-open-text]").textContent = open ? "Open" : "Closed";
    row.classList.toggle("is-closed", !open);
  }

  async save() {
    const day = this.day;
    clearErrors(this.form);
    const problem = checkHours(this.dayEditor).override;
    if (problem) {
      showFieldError(this.form, "hours-override", problem);
      return;
    }
    const hours = readHours(this.dayEditor).override || [];
    const submit = this.form.querySelector("[type=submit]");
    submit.disabled = true;
    const { ok, data } = await sendJSON(`${this.base}/${day}`, { hours }, "PUT");
    submit.disabled = false;
    if (!ok) {
      showAPIError(this.form, data, ALIASES);
      return;
    }
    this.overrides.set(day, data.override.hours);
    this.removeButton.hidden = false;
    this.saved.textContent = hours.length ? `Saved: ${formatDay(day)} opens ${intervalsText(hours)}.` : `Saved: ${formatDay(day)} is closed.`;
    this.render();
    this.onChange();
    showConflicts(
      this.conflicts,
      data.conflicts,
      this.timeZone,
      "These bookings are outside the new hours. They were kept: contact the customers, or move or cancel them from your schedule.",
    );
  }

  async remove(day) {
    const { ok, data } = await sendJSON(`${this.base}/${day}`, undefined, "DELETE");
    if (!ok) {
      this.listStatus.hidden = false;
      this.listStatus.textContent = (data && data.error && data.error.message) || "We couldn't remove that date.";
      return;
    }
    this.overrides.delete(day);
    showConflicts(this.conflicts, [], this.timeZone, "");
    this.render();
    this.onChange();
    if (day === this.day) {
      this.open(day);
      this.saved.textContent = `${formatDay(day)} uses the usual hours again.`;
    } else {
      this.listStatus.hidden = false;
      this.listStatus.textContent = `${formatDay(day)} uses the usual hours again.`;
      this.root.querySelector("#override-list-heading").focus();
    }
  }
}
