// The next free times a service would offer with the hours and rules on the service editor,
// before they are saved. It follows the server's generation (server/domain/slots.py) on the
// provider's wall clock: back-to-back slots plus the buffer inside each open interval, a date
// override in place of its weekday, nothing inside time off, at most max_appointments_per_day
// a day, nothing sooner than the minimum notice and nothing past the horizon. Bookings are not
// known here, so a booked time can still appear.
import { addDays, todayIn } from "./formatting.js";

const WEEKDAY_KEYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** "2026-11-24T09:30": the wall-clock moment of `date` in `timeZone` (to the minute). */
export function wallClock(date, timeZone) {
  const parts = {};
  const format = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  for (const part of format.formatToParts(date)) parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

function minutesOf(clock) {
  const [hours, minutes] = clock.split(":").map(Number);
  return hours * 60 + minutes;
}

function clockOf(minutes) {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

function weekdayKey(day) {
  const [year, month, date] = day.split("-").map(Number);
  return WEEKDAY_KEYS[new Date(Date.UTC(year, month - 1, date)).getUTCDay()];
}

/** One day's slot starts ("HH:MM") before notice is applied; past and time-off ones dropped. */
function dayStarts(day, intervals, rules, now, timeOff) {
  const starts = [];
  const sorted = [...intervals].sort((a, b) => a[0].localeCompare(b[0]));
  for (const [open, close] of sorted) {
    const end = minutesOf(close);
    for (let at = minutesOf(open); at + rules.durationMinutes <= end; at += rules.durationMinutes + rules.bufferMinutes) {
      if (starts.length >= rules.maxPerDay) return starts;
      const start = `${day}T${clockOf(at)}`;
      const finish = at + rules.durationMinutes === 1440 ? `${addDays(day, 1)}T00:00` : `${day}T${clockOf(at + rules.durationMinutes)}`;
      if (start <= now) continue;
      if (timeOff.some((off) => start < off.end && off.start < finish)) continue;
      starts.push(start);
    }
  }
  return starts;
}

/**
 * The first `limit` free starts as [{day, time}], looking `days` days ahead at most.
 * `rules`: {hours, overrides: {date: intervals}, durationMinutes, bufferMinutes, maxPerDay,
 * noticeMinutes, horizonDays}; `timeOff`: [{start, end}] as wallClock() strings.
 */
export function previewFreeTimes(rules, { timeZone, timeOff = [], now = new Date(), days = 14, limit = 8 }) {
  const nowWall = wallClock(now, timeZone);
  const earliest = wallClock(new Date(now.getTime() + rules.noticeMinutes * 60_000), timeZone);
  const today = todayIn(timeZone, now);
  const found = [];
  for (let offset = 0; offset < Math.min(days, rules.horizonDays); offset += 1) {
    const day = addDays(today, offset);
    const intervals = rules.overrides[day] ?? rules.hours[weekdayKey(day)] ?? [];
    for (const start of dayStarts(day, intervals, rules, nowWall, timeOff)) {
      if (start < earliest) continue;
      found.push({ day, time: start.slice(11) });
      if (found.length >= limit) return found;
    }
  }
  return found;
}
