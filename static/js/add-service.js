// The new-service form: turns the price into minor units and the hours editor into `hours`.
import { clearErrors, formValues, sendJSON, showAPIError, showFieldError, whileBusy } from "./api.js";
import { checkHours, readHours, setUpHoursEditor } from "./hours-editor.js";
import { selectedDecimals as decimalsOf, toMinorUnits } from "./money-input.js";

const form = document.getElementById("service-form");
const editor = form.querySelector(".hours-editor");
const currency = document.getElementById("currency");
const ALIASES = { price_cents: "price", invalid_price: "price" };

function selectedDecimals() {
  return decimalsOf(currency);
}

function optional(value) {
  const trimmed = (value || "").trim();
  return trimmed ? trimmed : undefined;
}

function buildBody(values) {
  return {
    name: values.name.trim(),
    description: values.description.trim(),
    category: optional(values.category),
    location: optional(values.location),
    price_cents: toMinorUnits(values.price, selectedDecimals()),
    currency: values.currency,
    duration_minutes: Number(values.duration_minutes),
    max_appointments_per_day: Number(values.max_appointments_per_day),
    hours: readHours(editor),
  };
}

function localProblems(body) {
  let found = false;
  if (body.price_cents === null) {
    const example = selectedDecimals() === 0 ? "4500" : "45.00";
    found = showFieldError(form, "price", `Enter a price like ${example}.`) || found;
  }
  for (const [day, message] of Object.entries(checkHours(editor))) {
    found = showFieldError(form, `hours-${day}`, message) || found;
  }
  if (Object.keys(body.hours).length === 0) {
    found = showFieldError(form, "hours", "Open at least one day so customers can book.") || found;
  }
  return found;
}

function showHoursErrors(payload) {
  // The API names a day's problem as hours.mon...; put it under that day.
  const fields = payload?.error?.fields || {};
  for (const [path, message] of Object.entries(fields)) {
    const [head, day] = path.split(".");
    if (head === "hours") showFieldError(form, day ? `hours-${day}` : "hours", message);
  }
}

async function submit(event) {
  event.preventDefault();
  clearErrors(form);
  const body = buildBody(formValues(form));
  if (localProblems(body)) {
    form.querySelector("[aria-invalid], .field-error:not(:empty)")?.scrollIntoView({ block: "center" });
    return;
  }
  const { ok, data } = await whileBusy(form, () => sendJSON("/api/services", body));
  if (ok) {
    window.location.assign("/dashboard");
    return;
  }
  showHoursErrors(data);
  showAPIError(form, data, ALIASES);
}

setUpHoursEditor(editor);
form.addEventListener("submit", submit);
