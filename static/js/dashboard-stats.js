// The dashboard's figures: the cards (earnings, counts) and the weekly and monthly bar charts,
// all from GET /api/dashboard/stats. The page calls refreshSoon() on every live change, so a
// burst of changes costs one request.
import { getJSON } from "./api.js";
import { BarChart } from "./charts.js";

const REFRESH_DELAY_MS = 1000;
const CHANGED_FLASH_MS = 1600;
const LOCALE = undefined; // the browser's own

// Each card's value (and the small line under it) from the stats. The cards themselves are in
// dashboard.html, so the page keeps its shape while the numbers load.
const CARDS = {
  earnings: (stats) => ({
    value: formatMoney(stats.earnings_this_month_cents, stats.currency),
    hint: `Completed in ${monthName(lastOf(stats.per_month).month, "long")}`,
  }),
  week: (stats) => ({
    value: formatCount(stats.appointments_this_week),
    hint: `Week of ${shortDay(lastOf(stats.per_week).week_start)}`,
  }),
  month: (stats) => ({
    value: formatCount(stats.appointments_this_month),
    hint: monthName(lastOf(stats.per_month).month, "long"),
  }),
  revenue: (stats) => ({ value: formatMoney(stats.revenue_cents, stats.currency) }),
  completed: (stats) => ({ value: formatCount(stats.completed) }),
  "no-shows": (stats) => ({ value: formatCount(stats.no_shows) }),
  cancellations: (stats) => ({ value: formatCount(stats.cancellations) }),
};

/**
 * Fill `cards` (the #stats section) and `charts` (a container for the two charts) now, and
 * again whenever asked. `data-stats-loads` on `cards` counts the loads that came back, for the tests.
 */
export function startStats({ cards, charts }) {
  const status = cards.querySelector("[data-stats-status]");
  const weekly = new BarChart({
    title: "Appointments per week",
    subtitle: "Last 12 weeks",
    columns: ["Week", "Appointments"],
  });
  const monthly = new BarChart({
    title: "Appointments per month",
    subtitle: "Last 12 months",
    columns: ["Month", "Appointments"],
  });
  charts.replaceChildren(weekly.element, monthly.element);
  let loads = 0;
  let inFlight = null;
  let again = false;
  let timer = null;

  async function load() {
    cards.setAttribute("aria-busy", "true");
    const { ok, data } = await getJSON("/api/dashboard/stats");
    loads += 1;
    cards.dataset.statsLoads = String(loads);
    cards.removeAttribute("aria-busy");
    if (!ok) return showError(data);
    status.hidden = true;
    cards.dataset.state = "ready";
    charts.dataset.state = "ready";
    renderCards(cards, data, loads > 1);
    weekly.update(weeklySeries(data.per_week));
    monthly.update(monthlySeries(data.per_month));
  }

  function showError(data) {
    // Figures shown before stay up: a failed refresh only says they may be out of date.
    const message = (data && data.error && data.error.message) || "Something went wrong.";
    const shown = cards.dataset.state === "ready";
    status.querySelector("[data-stats-message]").textContent = shown
      ? `These figures may be out of date. ${message}`
      : `We couldn't load your figures. ${message}`;
    status.hidden = false;
    if (!shown) cards.dataset.state = "error";
  }

  /** Load now; a call while a load runs makes one more load after it. */
  async function refresh() {
    clearTimeout(timer);
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = load();
    try {
      await inFlight;
    } finally {
      inFlight = null;
    }
    if (again) {
      again = false;
      await refresh();
    }
  }

  function refreshSoon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_DELAY_MS);
  }

  status.querySelector("[data-stats-retry]").addEventListener("click", () => refresh());
  refresh();
  return { refresh, refreshSoon };
}

function renderCards(section, stats, highlightChanges) {
  for (const card of section.querySelectorAll("[data-stat]")) {
    const { value, hint } = CARDS[card.dataset.stat](stats);
    const valueNode = card.querySelector("[data-stat-value]");
    const changed = valueNode.textContent !== value;
    valueNode.textContent = value;
    const hintNode = card.querySelector("[data-stat-hint]");
    if (hintNode && hint) hintNode.textContent = hint;
    if (changed && highlightChanges) flash(card);
  }
}

/** Mark a card whose number just moved, for a moment (the CSS draws the highlight). */
function flash(card) {
  card.classList.remove("stat-changed");
  void card.offsetWidth; // restart the animation when the same card changes twice in a row
  card.classList.add("stat-changed");
  setTimeout(() => card.classList.remove("stat-changed"), CHANGED_FLASH_MS);
}

function weeklySeries(perWeek) {
  const bars = perWeek.map((week) => ({
    label: shortDay(week.week_start),
    longLabel: `Week of ${dayName(week.week_start)}`,
    value: week.count,
  }));
  return { bars, summary: summarise("Appointments per week over the last 12 weeks", bars, "this week") };
}

function monthlySeries(perMonth) {
  const bars = perMonth.map((month) => ({
    label: monthName(month.month, "short"),
    longLabel: monthName(month.month, "long"),
    value: month.count,
  }));
  return { bars, summary: summarise("Appointments per month over the last 12 months", bars, "this month") };
}

/** "…: 64 in total; the busiest was Week of 9 Nov with 11; 4 this week." */
function summarise(title, bars, nowName) {
  const total = bars.reduce((sum, bar) => sum + bar.value, 0);
  if (total === 0) return `${title}: no appointments yet.`;
  const busiest = bars.reduce((best, bar) => (bar.value > best.value ? bar : best));
  const now = lastOf(bars).value;
  return `${title}: ${total} in total; the busiest was ${busiest.longLabel} with ${busiest.value}; ${now} ${nowName}.`;
}

/** Minor units in the provider's currency: "£1,234.50", "¥12,000" (no decimals for JPY). */
export function formatMoney(minor, currency) {
  if (!currency) return formatCount(minor);
  try {
    const format = new Intl.NumberFormat(LOCALE, { style: "currency", currency });
    return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

function formatCount(count) {
  return new Intl.NumberFormat(LOCALE).format(count);
}

function utcDate(isoDay) {
  const [year, month = 1, day = 1] = isoDay.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day));
}

/** "9 Nov" (or "Nov 9", by locale) for a YYYY-MM-DD day. */
function shortDay(isoDay) {
  return new Intl.DateTimeFormat(LOCALE, { day: "numeric", month: "short", timeZone: "UTC" }).format(utcDate(isoDay));
}

/** "Mon 9 Nov 2026" for a YYYY-MM-DD day. */
function dayName(isoDay) {
  const options = { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" };
  return new Intl.DateTimeFormat(LOCALE, options).format(utcDate(isoDay));
}

/** "Nov" (short) or "November 2026" (long) for a YYYY-MM month. */
function monthName(isoMonth, style) {
  const options = style === "long" ? { month: "long", year: "numeric" } : { month: "short" };
  return new Intl.DateTimeFormat(LOCALE, { ...options, timeZone: "UTC" }).format(utcDate(isoMonth));
}

function lastOf(items) {
  return items[items.length - 1];
}
