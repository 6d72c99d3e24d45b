// Talking to Appointly's JSON API from the pages, and showing its errors next to the fields.

/** POST (or another method) JSON to the API; resolves to {ok, status, data} and never throws on 4xx. */
export async function sendJSON(url, body, method = "POST", headers = {}) {
  const options = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch {
    return { ok: false, status: 0, data: networkError() };
  }
  return { ok: response.ok, status: response.status, data: await readBody(response) };
}

export async function getJSON(url) {
  return sendJSON(url, undefined, "GET");
}

async function readBody(response) {
  if (response.status === 204) return null;
  try {
    return await response.json();
  } catch {
    return { error: { code: "bad_response", message: "Something went wrong. Please try again." } };
  }
}

function networkError() {
  return { error: { code: "network_error", message: "We couldn't reach Appointly. Check your connection and try again." } };
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const banner = form.querySelector("[data-form-error]");
  if (banner) {
    banner.textContent = "";
    banner.hidden = true;
  }
}

/** Put one message under the field called `name`; false when the form has no such field. */
export function showFieldError(form, name, message) {
  const slot = form.querySelector(`#${CSS.escape(name)}-error`);
  if (!slot) return false;
  slot.textContent = message;
  const input = form.querySelector(`#${CSS.escape(name)}`);
  if (input) input.setAttribute("aria-invalid", "true");
  return true;
}

export function showFormError(form, message) {
  const banner = form.querySelector("[data-form-error]");
  if (!banner) return;
  banner.textContent = message;
  banner.hidden = false;
}

/**
 * Show an API error: each of error.fields under its field, or the message under the field its
 * code names (`invalid_email` → email), or in the form's banner. `aliases` maps API field names
 * to the form's (price_cents → price). Focuses the first field in error.
 */
export function showAPIError(form, payload, aliases = {}) {
  const error = (payload && payload.error) || { message: "Something went wrong. Please try again." };
  const placed = [];
  const fields = error.fields || {};
  for (const [path, message] of Object.entries(fields)) {
    const name = fieldName(path, aliases);
    if (showFieldError(form, name, message)) placed.push(name);
  }
  if (placed.length === 0) {
    const fromCode = error.code && error.code.startsWith("invalid_") ? fieldName(error.code.slice(8), aliases) : null;
    const byCode = aliases[error.code] || fromCode;
    if (byCode && showFieldError(form, byCode, error.message)) placed.push(byCode);
  }
  if (placed.length === 0) showFormError(form, error.message);
  const first = placed.length ? form.querySelector(`#${CSS.escape(placed[0])}`) : null;
  if (first && typeof first.focus === "function") first.focus();
  return placed;
}

function fieldName(path, aliases) {
  const head = String(path).split(".")[0];
  return aliases[path] || aliases[head] || head;
}

/** Disable a form's submit button while `work` runs, so a double tap sends one request. */
export async function whileBusy(form, work) {
  const button = form.querySelector("[type=submit]");
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  try {
    return await work();
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}
