// A small month calendar of day buttons (Monday first): pick a day; each day may carry marks
// (closed, other hours, time off) that show as colours and are read out after the date.
// Days before `today` cannot be picked. Arrow keys move a day or a week, across months too.
import { addDays } from "./formatting.js";

const WEEKDAYS = [
  ["Mon", "Monday"],
  ["Tue", "Tuesday"],
  ["Wed", "Wednesday"],
  ["Thu", "Thursday"],
  ["Fri", "Friday"],
  ["Sat", "Saturday"],
  ["Sun", "Sunday"],
];
const KEY_STEPS = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };

function asDate(day) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date));
}

function format(day, options) {
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" }).format(asDate(day));
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function monthStart(day) {
  return `${day.slice(0, 7)}-01`;
}

function shiftMonth(firstOfMonth, step) {
  const date = asDate(firstOfMonth);
  date.setUTCMonth(date.getUTCMonth() + step);
  return date.toISOString().slice(0, 10);
}

export class MonthCalendar {
  /**
   * @param {HTMLElement} root an empty element to draw into
   * @param {{today: string, id: string, describe?: (day: string) => ({kinds: string[], text: string} | null),
   *          onPick?: (day: string) => void}} options
   */
  constructor(root, { today, id, describe = () => null, onPick = () => {} }) {
    this.root = root;
    this.today = today;
    this.describe = describe;
    this.onPick = onPick;
    this.month = monthStart(today);
    this.selected = null;
    this.title = el("h3", { className: "cal-title", id: `${id}-title`, "aria-live": "polite" });
    this.previous = el("button", { type: "button", className: "icon-button", "aria-label": "Previous month" }, "‹");
    this.next = el("button", { type: "button", className: "icon-button", "aria-label": "Next month" }, "›");
    this.body = el("tbody");
    const head = el("tr", {}, ...WEEKDAYS.map(([short, long]) => el("th", { scope: "col", abbr: long }, short)));
    root.classList.add("month-calendar");
    root.replaceChildren(
      el("div", { className: "cal-head" }, this.previous, this.title, this.next),
      el("table", { className: "cal-grid", "aria-labelledby": `${id}-title` }, el("thead", {}, head), this.body),
    );
    this.previous.addEventListener("click", () => this.showMonth(shiftMonth(this.month, -1)));
    this.next.addEventListener("click", () => this.showMonth(shiftMonth(this.month, 1)));
    this.body.addEventListener("click", (event) => {
      const button = event.target.closest("[data-date]");
      if (button && !button.disabled) this.pick(button.dataset.date);
    });
    this.body.addEventListener("keydown", (event) => this.moveFocus(event));
    this.render();
  }

  /** The first and last day shown, for fetching what to mark. */
  range() {
    return { first: this.month, last: addDays(shiftMonth(this.month, 1), -1) };
  }

  showMonth(firstOfMonth) {
    this.month = firstOfMonth < monthStart(this.today) ? monthStart(this.today) : firstOfMonth;
    this.render();
  }

  pick(day) {
    this.selected = day;
    if (monthStart(day) !== this.month) this.month = monthStart(day);
    this.render();
    this.onPick(day);
  }

  render() {
    const focused = this.root.contains(document.activeElement) ? document.activeElement.dataset?.date : undefined;
    this.title.textContent = format(this.month, { month: "long", year: "numeric" });
    this.previous.disabled = this.month <= monthStart(this.today);
    const lead = (asDate(this.month).getUTCDay() + 6) % 7; // Monday first
    const rows = [];
    let cells = Array.from({ length: lead }, () => el("td"));
    for (let day = this.month; day.startsWith(this.month.slice(0, 7)); day = addDays(day, 1)) {
      cells.push(el("td", {}, this.dayButton(day)));
      if (cells.length === 7) {
        rows.push(el("tr", {}, ...cells));
        cells = [];
      }
    }
    if (cells.length) rows.push(el("tr", {}, ...cells, ...Array.from({ length: 7 - cells.length }, () => el("td"))));
    this.body.replaceChildren(...rows);
    if (focused) this.body.querySelector(`[data-date="${focused}"]`)?.focus();
  }

  dayButton(day) {
    const mark = this.describe(day);
    const button = el(
      "button",
      { type: "button", className: ["cal-day", ...(mark ? mark.kinds : [])].join(" "), "data-date": day },
      el("span", { className: "cal-num", text: String(asDate(day).getUTCDate()) }),
      // One hidden span: screen readers hear "24 December, Thursday: closed" with no odd pauses.
      el("span", {
        className: "visually-hidden",
        text: ` ${format(day, { month: "long" })}, ${format(day, { weekday: "long" })}${mark && mark.text ? `: ${mark.text}` : ""}`,
      }),
      el("span", { className: "cal-dot", "aria-hidden": "true" }),
    );
    button.setAttribute("aria-pressed", String(day === this.selected));
    if (day === this.today) button.setAttribute("aria-current", "date");
    if (day < this.today) button.disabled = true;
    return button;
  }

  moveFocus(event) {
    const step = KEY_STEPS[event.key];
    const current = event.target.closest("[data-date]");
    if (!step || !current) return;
    event.preventDefault();
    const target = addDays(current.dataset.date, step);
    if (target < this.today) return;
    if (monthStart(target) !== this.month) {
      this.month = monthStart(target);
      this.render();
    }
    this.body.querySelector(`[data-date="${target}"]`)?.focus();
  }
}
