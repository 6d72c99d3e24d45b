// A short list of free times grouped by day ("Tue 1 Dec  09:00 · 09:45 · 10:30"), as the
// service editor's preview shows them.
import { formatDay } from "./formatting.js";

/** [{day, time}] in order → [[day, [time, …]], …]. */
export function groupByDay(times) {
  const days = new Map();
  for (const { day, time } of times) {
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(time);
  }
  return [...days.entries()];
}

export function renderTimes(list, days, emptyText) {
  if (!days.length) {
    const item = document.createElement("li");
    item.className = "muted";
    item.textContent = emptyText;
    list.replaceChildren(item);
    return;
  }
  list.replaceChildren(
    ...days.map(([day, times]) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.className = "preview-day";
      name.textContent = formatDay(day);
      const clock = document.createElement("span");
      clock.className = "preview-clock";
      clock.textContent = times.join(" · ");
      item.append(name, clock);
      return item;
    }),
  );
}
