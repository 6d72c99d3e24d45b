// Prices and times as the customer pages show them, in the visitor's locale.

const LOCALE = undefined; // the browser's own

/** "£45.00" from integer minor units; "Free" for nothing. */
export function formatPrice(cents, currency) {
  if (!cents) return "Free";
  try {
    const format = new Intl.NumberFormat(LOCALE, { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return format.format(cents / 10 ** digits);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

/** Replace each [data-price-cents][data-currency] element's text with the formatted price. */
export function formatPrices(root = document) {
  for (const element of root.querySelectorAll("[data-price-cents]")) {
    element.textContent = formatPrice(Number(element.dataset.priceCents), element.dataset.currency);
  }
}

/** "09:30": the wall-clock time of an ISO moment in `timeZone`. */
export function formatTime(iso, timeZone) {
  return new Intl.DateTimeFormat(LOCALE, { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(iso));
}

/** "Tue 24 Nov" for a YYYY-MM-DD day (a calendar day, so no zone shift). */
export function formatDay(day, style = "short") {
  const [year, month, date] = day.split("-").map(Number);
  const options = style === "long"
    ? { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" }
    : { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" };
  return new Intl.DateTimeFormat(LOCALE, options).format(new Date(Date.UTC(year, month - 1, date)));
}

/** {weekday: "Tue", date: "24 Nov"} for a day button. */
export function dayParts(day) {
  const [year, month, date] = day.split("-").map(Number);
  const moment = new Date(Date.UTC(year, month - 1, date));
  const part = (options) => new Intl.DateTimeFormat(LOCALE, { ...options, timeZone: "UTC" }).format(moment);
  return { weekday: part({ weekday: "short" }), date: part({ day: "numeric", month: "short" }) };
}

/** "Tuesday 24 November 2026, 09:30" in `timeZone`. */
export function formatMoment(iso, timeZone) {
  return new Intl.DateTimeFormat(LOCALE, {
    timeZone,
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date(iso));
}

/** Today's date (YYYY-MM-DD) on the wall calendar of `timeZone`. */
export function todayIn(timeZone, now = new Date()) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(now);
  const part = (type) => parts.find((item) => item.type === type).value;
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/** The day `count` days after a YYYY-MM-DD day. */
export function addDays(day, count) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date + count)).toISOString().slice(0, 10);
}

export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}
