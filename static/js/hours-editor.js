// The weekly hours editor: per day an open/closed switch and any number of intervals.
// Its value is the API's `hours`: {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], ...}.

const template = document.getElementById("interval-template");

function dayLabel(day) {
  return day.dataset.dayLabel || day.dataset.day;
}

function addMinutes(time, minutes) {
  const [hours, mins] = time.split(":").map(Number);
  const total = Math.min(hours * 60 + mins + minutes, 23 * 60 + 55);
  return `${String(Math.floor(total / 60)).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
}

function labelRow(row, day) {
  const label = dayLabel(day);
  row.querySelector("[data-start]").setAttribute("aria-label", `${label} opens at`);
  row.querySelector("[data-end]").setAttribute("aria-label", `${label} closes at`);
  row.querySelector("[data-remove-interval]").setAttribute("aria-label", `Remove this ${label} interval`);
}

/** Append an interval to `day`, by default starting an hour after the last one ends. */
export function addInterval(day, start, end) {
  const list = day.querySelector("[data-intervals]");
  const last = list.querySelector("[data-interval]:last-child [data-end]");
  const from = start || (last && last.value ? addMinutes(last.value, 60) : "09:00");
  const row = template.content.firstElementChild.cloneNode(true);
  row.querySelector("[data-start]").value = from;
  row.querySelector("[data-end]").value = end || addMinutes(from, 240);
  labelRow(row, day);
  list.append(row);
  return row;
}

function setOpen(day, open) {
  day.querySelector("[data-day-open]").checked = open;
  day.querySelector("[data-day-body]").hidden = !open;
  day.querySelector("[data-open-text]").textContent = open ? "Open" : "Closed";
  day.classList.toggle("is-closed", !open);
  if (open && !day.querySelector("[data-interval]")) addInterval(day, "09:00", "17:00");
}

function removeInterval(button) {
  const day = button.closest("[data-day]");
  button.closest("[data-interval]").remove();
  if (!day.querySelector("[data-interval]")) setOpen(day, false);
  else day.querySelector("[data-add-interval]").focus();
}

function copyMonday(editor) {
  const monday = editor.querySelector('[data-day="mon"]');
  const intervals = readDay(monday);
  for (const day of editor.querySelectorAll("[data-day]")) {
    if (day === monday || !day.querySelector("[data-day-open]").checked) continue;
    day.querySelector("[data-intervals]").replaceChildren();
    for (const [start, end] of intervals) addInterval(day, start, end);
    if (!intervals.length) setOpen(day, false);
  }
}

function readDay(day) {
  return [...day.querySelectorAll("[data-interval]")].map((row) => [
    row.querySelector("[data-start]").value,
    row.querySelector("[data-end]").value,
  ]);
}

/** The schedule as the API wants it; closed days are left out. */
export function readHours(editor) {
  const hours = {};
  for (const day of editor.querySelectorAll("[data-day]")) {
    if (day.querySelector("[data-day-open]").checked) hours[day.dataset.day] = readDay(day);
  }
  return hours;
}

/** Problems the browser can spot before asking the server: blank or backwards intervals. */
export function checkHours(editor) {
  const problems = {};
  for (const day of editor.querySelectorAll("[data-day]")) {
    if (!day.querySelector("[data-day-open]").checked) continue;
    const intervals = readDay(day).sort((a, b) => a[0].localeCompare(b[0]));
    let previousEnd = "";
    for (const [start, end] of intervals) {
      if (!start || !end) problems[day.dataset.day] = "Fill in both times.";
      else if (end <= start) problems[day.dataset.day] = `${start}–${end} ends before it starts.`;
      else if (previousEnd && start < previousEnd) problems[day.dataset.day] = "Intervals overlap.";
      previousEnd = end || previousEnd;
      if (problems[day.dataset.day]) break;
    }
  }
  return problems;
}

export function setUpHoursEditor(editor) {
  for (const row of editor.querySelectorAll("[data-interval]")) labelRow(row, row.closest("[data-day]"));
  editor.addEventListener("change", (event) => {
    if (event.target.matches("[data-day-open]")) setOpen(event.target.closest("[data-day]"), event.target.checked);
  });
  editor.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.matches("[data-add-interval]")) {
      addInterval(target.closest("[data-day]")).querySelector("[data-start]").focus();
    } else if (target.matches("[data-remove-interval]")) {
      removeInterval(target);
    } else if (target.matches("[data-copy-monday]")) {
      copyMonday(editor);
    }
  });
}
