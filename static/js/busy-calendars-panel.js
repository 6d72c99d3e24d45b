// The busy calendars panel on /availability: list the provider's outside iCal addresses with
// their last sync and last error, add one, remove one (each change PUTs the whole list).
import { clearErrors, getJSON, sendJSON, showAPIError, showFormError, whileBusy } from "./api.js";

const API = "/api/providers/me/busy-calendars";
const ALIASES = { urls: "busy_url" };
// While a newly added calendar waits for its first fetch, look again now and then.
const RECHECK_MS = 5000;

function describe(calendar) {
  if (!calendar.last_synced_at) return calendar.last_error ? "Never fetched." : "Waiting for the first fetch…";
  const when = new Date(calendar.last_synced_at);
  return `Last synced ${when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}.`;
}

function mount(panel) {
  const form = panel.querySelector("[data-busy-calendars-form]");
  const list = panel.querySelector("[data-busy-calendars-list]");
  const empty = panel.querySelector("[data-busy-calendars-empty]");
  const saved = panel.querySelector("[data-busy-calendars-saved]");
  let calendars = [];
  let recheck = null;

  function show(found) {
    calendars = found;
    list.replaceChildren(...found.map(row));
    empty.hidden = found.length > 0;
    form.hidden = found.length >= 5;
    clearTimeout(recheck);
    if (found.some((calendar) => !calendar.last_synced_at && !calendar.last_error)) {
      recheck = setTimeout(load, RECHECK_MS);
    }
  }

  function row(calendar) {
    const item = document.createElement("li");
    item.className = "busy-calendar";
    const url = document.createElement("p");
    url.className = "busy-calendar-url";
    url.textContent = calendar.url;
    const sync = document.createElement("p");
    sync.className = "muted";
    sync.textContent = describe(calendar);
    item.append(url, sync);
    if (calendar.last_error) {
      const error = document.createElement("p");
      error.className = "field-error";
      error.setAttribute("role", "alert");
      error.textContent = `Last error: ${calendar.last_error} Its last known busy times still apply.`;
      item.append(error);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button button-secondary button-small";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${calendar.url}`);
    remove.addEventListener("click", () => save(calendars.filter((other) => other.url !== calendar.url).map((other) => other.url), "Removed."));
    item.append(remove);
    return item;
  }

  async function save(urls, done) {
    clearErrors(form);
    saved.textContent = "";
    const { ok, data } = await whileBusy(form, () => sendJSON(API, { urls }, "PUT"));
    if (!ok) {
      showAPIError(form, data, ALIASES);
      return false;
    }
    saved.textContent = done;
    show(data.busy_calendars);
    return true;
  }

  async function load() {
    const { ok, data } = await getJSON(API);
    if (ok) show(data.busy_calendars);
    else showFormError(form, data.error.message);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = form.elements.busy_url.value.trim();
    if (!url) {
      clearErrors(form);
      showAPIError(form, { error: { code: "invalid_url", message: "Give the calendar's address.", fields: { urls: "Give the calendar's address." } } }, ALIASES);
      return;
    }
    if (await save([...calendars.map((calendar) => calendar.url), url], "Added: it is fetched within a minute.")) form.reset();
  });

  load();
}

for (const panel of document.querySelectorAll("[data-busy-calendars-panel]")) mount(panel);
