// A service's availability rules in plain words. server/routes/rule_text.py words them the same
// way for the server-rendered pages; keep the two in step.

const MINUTES_PER_HOUR = 60;
const MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR;
export const UNIT_MINUTES = { minutes: 1, hours: MINUTES_PER_HOUR, days: MINUTES_PER_DAY };

function count(number, unit) {
  return `${number} ${unit}${number === 1 ? "" : "s"}`;
}

/** The unit a person would use: 90 → [90, "minutes"], 1440 → [24, "hours"], 2880 → [2, "days"]. */
export function spanParts(minutes) {
  if (minutes >= 2 * MINUTES_PER_DAY && minutes % MINUTES_PER_DAY === 0) return [minutes / MINUTES_PER_DAY, "days"];
  if (minutes >= MINUTES_PER_HOUR && minutes % MINUTES_PER_HOUR === 0) return [minutes / MINUTES_PER_HOUR, "hours"];
  return [minutes, "minutes"];
}

/** 120 → "2 hours", 1440 → "24 hours", 1 → "1 minute". */
export function span(minutes) {
  const [amount, unit] = spanParts(minutes);
  return count(amount, unit.slice(0, -1));
}

export function noticeText(minutes) {
  return minutes ? `Book at least ${span(minutes)} ahead.` : "Customers can book right up to the start time.";
}

export function horizonText(days) {
  return `Customers can book up to ${count(days, "day")} ahead.`;
}

export function bufferText(minutes) {
  return minutes ? `${span(minutes)} between clients.` : "Appointments follow each other back to back.";
}

export function cancelText(minutes) {
  return minutes ? `Free cancellation until ${span(minutes)} before.` : "Free cancellation until the start.";
}

/** The last moment a booking starting at `startIso` can be cancelled, as a Date. */
export function cancelDeadline(startIso, minutes) {
  return new Date(Date.parse(startIso) - minutes * 60_000);
}
