// A strip of days and the chosen day's free times, kept live over the socket: the service page's
// picker (choosing a time opens the booking form), also mounted by the booking page
// (Reschedule) and the dashboard (Move) with their own `onPick`.
import { addDays, dayParts, formatDay, formatPrices, formatTime, todayIn } from "./formatting.js";
import { LiveSlots, freeSlots } from "./live-slots.js";

const DAYS_SHOWN = 28;
const STATUS_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", closed: "Offline" };

/**
 * A live day strip and the chosen day's free times inside `root` (see _slot_picker.html), for
 * the service in `root.dataset.serviceId`, times in `root.dataset.timezone`.
 * @param {HTMLElement} root
 * @param {{onPick?: (slot: object, button: HTMLElement) => void, rememberDay?: boolean,
 *          isOffered?: (slot: object) => boolean}} options
 * @returns {{live: LiveSlots, stop: () => void}}
 */
export function mountSlotPicker(
  root,
  { onPick = (slot) => openBookingForm(root.dataset.serviceId, slot), rememberDay = false, isOffered = () => true } = {},
) {
  const serviceId = root.dataset.serviceId;
  const timeZone = root.dataset.timezone;
  const daysStrip = root.querySelector("[data-days]");
  const dayHeading = root.querySelector("[data-day-heading]");
  const slotList = root.querySelector("[data-slots]");
  const slotsStatus = root.querySelector("[data-slots-status]");
  const liveStatus = root.querySelector("[data-live-status]");

  const firstDay = todayIn(timeZone);
  const days = Array.from({ length: DAYS_SHOWN }, (_, index) => addDays(firstDay, index));
  let chosenDay = rememberDay ? new URLSearchParams(window.location.search).get("day") : null;
  let userChose = days.includes(chosenDay);
  if (!userChose) chosenDay = firstDay;
  let shownTimes = new Set();
  let stripPlaced = false;

  function freeByDay(slots) {
    const byDay = new Map(days.map((day) => [day, []]));
    for (const slot of freeSlots(slots).filter(isOffered)) {
      if (byDay.has(slot.slot_date)) byDay.get(slot.slot_date).push(slot);
    }
    return byDay;
  }

  // Days with no slots at all (closed, or every time already past) rather than all taken.
  function daysWithSlots(slots, now = Date.now()) {
    const open = new Set();
    for (const slot of slots.values()) {
      if (Date.parse(slot.start_time) > now) open.add(slot.slot_date);
    }
    return open;
  }

  function renderDays(byDay, open) {
    const buttons = days.map((day) => {
      const count = byDay.get(day).length;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "day-button";
      button.dataset.day = day;
      button.setAttribute("aria-pressed", String(day === chosenDay));
      const { weekday, date } = dayParts(day);
      button.append(span("day-weekday", weekday), span("day-date", date));
      const none = open.has(day) ? "Full" : "Closed";
      button.append(span("day-count", count ? `${count} free` : none));
      if (!count) button.classList.add("is-full");
      return button;
    });
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.day : null;
    daysStrip.replaceChildren(...buttons);
    if (focused) daysStrip.querySelector(`[data-day="${focused}"]`)?.focus();
    if (!stripPlaced) {
      // Bring a chosen day far down the strip into view, without scrolling the page.
      const chosen = daysStrip.querySelector("[aria-pressed=true]");
      daysStrip.scrollLeft = chosen ? chosen.offsetLeft - daysStrip.offsetLeft - 8 : 0;
      stripPlaced = true;
    }
  }

  function span(className, text) {
    const node = document.createElement("span");
    node.className = className;
    node.textContent = text;
    return node;
  }

  function renderSlots(free) {
    const focusedTime = document.activeElement?.dataset?.startTime;
    dayHeading.textContent = formatDay(chosenDay, "long");
    const items = free.map((slot) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "slot-button";
      button.dataset.slotId = slot.id;
      button.dataset.startTime = slot.start_time;
      button.textContent = formatTime(slot.start_time, timeZone);
      item.append(button);
      return item;
    });
    slotList.replaceChildren(...items);
    if (focusedTime) slotList.querySelector(`[data-start-time="${focusedTime}"]`)?.focus();
    announce(free);
  }

  function announce(free) {
    const times = new Set(free.map((slot) => slot.start_time));
    const gone = [...shownTimes].filter((time) => !times.has(time));
    let text = free.length ? `${free.length} ${free.length === 1 ? "time" : "times"} free.` : "No free times on this day.";
    if (gone.length && shownTimes.size) {
      text = `${gone.map((time) => formatTime(time, timeZone)).join(", ")} just went. ${text}`;
    }
    slotsStatus.textContent = text;
    shownTimes = times;
  }

  function render(slots) {
    const byDay = freeByDay(slots);
    if (!userChose && !byDay.get(chosenDay).length) {
      chosenDay = days.find((day) => byDay.get(day).length) || chosenDay;
      shownTimes = new Set();
    }
    renderDays(byDay, daysWithSlots(slots));
    renderSlots(byDay.get(chosenDay));
  }

  const live = new LiveSlots(serviceId, {
    from: days[0],
    to: days[days.length - 1],
    onChange: render,
    onStatus(status) {
      liveStatus.textContent = STATUS_TEXT[status];
      liveStatus.dataset.state = status;
      if (status === "closed") slotsStatus.textContent = "Live times are not available for this service.";
    },
  }).start();

  daysStrip.addEventListener("click", (event) => {
    const button = event.target.closest("[data-day]");
    if (!button) return;
    chosenDay = button.dataset.day;
    userChose = true;
    shownTimes = new Set();
    if (rememberDay) {
      const url = new URL(window.location.href);
      url.searchParams.set("day", chosenDay);
      history.replaceState(null, "", url);
    }
    render(live.slots);
  });

  // Arrow keys move along the strip, so a keyboard user need not tab through four weeks.
  daysStrip.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
    const current = event.target.closest("[data-day]");
    if (!step || !current) return;
    const next = step < 0 ? current.previousElementSibling : current.nextElementSibling;
    if (next) {
      event.preventDefault();
      next.focus();
      next.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  });

  for (const button of root.querySelectorAll("[data-days-scroll]")) {
    button.addEventListener("click", () => {
      const step = Number(button.dataset.daysScroll) * daysStrip.clientWidth * 0.8;
      daysStrip.scrollBy({ left: step, behavior: "smooth" });
    });
  }

  slotList.addEventListener("click", (event) => {
    const button = event.target.closest("[data-slot-id]");
    if (!button) return;
    onPick(live.slots.get(button.dataset.startTime) || { id: button.dataset.slotId, start_time: button.dataset.startTime }, button);
  });

  // Times that start while the page is open leave the list without waiting for a message.
  const timer = setInterval(() => {
    if (live.ready) render(live.slots);
  }, 60_000);

  return {
    live,
    stop() {
      clearInterval(timer);
      live.stop();
    },
  };
}

function openBookingForm(serviceId, slot) {
  window.location.assign(`/services/${encodeURIComponent(serviceId)}/book?slot=${encodeURIComponent(slot.id)}`);
}

// The service page: choosing a time opens the booking form for that slot.
const servicePicker = document.querySelector("[data-slot-picker]:not([data-picker-manual])");
if (servicePicker) {
  mountSlotPicker(servicePicker, { rememberDay: true });
  formatPrices();
}
