// The dashboard's waitlist card: how many wait on each of the next days and, for the chosen
// day, who (in line order, with the offer a first in line holds).
import { getJSON } from "./api.js";
import { formatDay, formatTime, todayIn } from "./formatting.js";

const panel = document.querySelector("[data-waitlist-panel]");
const dashboard = document.querySelector("[data-dashboard]");
const REFRESH_MS = 60_000;
let chosen = null;

function describe(entry, zone) {
  if (entry.status === "offered" && entry.offer) {
    return `holds ${formatTime(entry.offer.slot.start_time, zone)} until ${formatTime(entry.offer.expires_at, zone)}`;
  }
  return `number ${entry.position} in line`;
}

function renderWho(data, zone) {
  const who = panel.querySelector("[data-waitlist-who]");
  if (!chosen) {
    who.hidden = true;
    return;
  }
  panel.querySelector("[data-waitlist-who-title]").textContent = `Waiting on ${formatDay(chosen, "long")}`;
  const items = data.entries.map((entry) => {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = entry.customer_name;
    const contact = document.createElement("span");
    contact.className = "muted";
    contact.textContent = ` ${entry.customer_email} · ${entry.service_name} · ${describe(entry, zone)}`;
    item.append(name, contact);
    return item;
  });
  panel.querySelector("[data-waitlist-who-list]").replaceChildren(...items);
  who.hidden = false;
}

function renderDays(days) {
  const list = panel.querySelector("[data-waitlist-days]");
  const buttons = days.map(({ date, waiting }) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.dataset.day = date;
    button.setAttribute("aria-pressed", String(date === chosen));
    button.append(formatDay(date));
    const count = document.createElement("span");
    count.className = "waitlist-count";
    count.textContent = `${waiting} waiting`;
    button.append(" ", count);
    item.append(button);
    return item;
  });
  list.replaceChildren(...buttons);
  panel.querySelector("[data-waitlist-status]").textContent = days.length
    ? ""
    : "Nobody is waiting in the next two weeks.";
}

async function load() {
  const zone = dashboard.dataset.timezone;
  const today = todayIn(zone);
  const { ok, data } = await getJSON(`/api/dashboard/waitlist?date=${today}`);
  if (!ok) {
    panel.querySelector("[data-waitlist-status]").textContent = "The waitlist could not be loaded.";
    return;
  }
  if (chosen && !data.days.some((day) => day.date === chosen)) chosen = null;
  renderDays(data.days);
  if (!chosen) return renderWho(data, zone);
  const day = await getJSON(`/api/dashboard/waitlist?date=${chosen}`);
  if (day.ok) renderWho(day.data, zone);
}

if (panel && dashboard) {
  panel.querySelector("[data-waitlist-days]").addEventListener("click", (event) => {
    const button = event.target.closest("[data-day]");
    if (!button) return;
    chosen = button.dataset.day === chosen ? null : button.dataset.day;
    load();
  });
  load();
  setInterval(load, REFRESH_MS);
}
