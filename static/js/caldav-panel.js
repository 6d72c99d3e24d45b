// The CalDAV panel on /availability: connect a calendar, show its sync status, test, disconnect.
import { clearErrors, sendJSON, showAPIError, showFormError, whileBusy } from "./api.js";

const API = "/api/providers/me/caldav";
const ALIASES = { url: "caldav_url", username: "caldav_username", password: "caldav_password", caldav_refused: "caldav_password" };

function describeSync(caldav) {
  if (!caldav.last_synced_at) return "Not synced yet: the first sync runs within a minute.";
  const when = new Date(caldav.last_synced_at);
  return `Last synced ${when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}.`;
}

function mount(panel) {
  const form = panel.querySelector("[data-caldav-form]");
  const status = panel.querySelector("[data-caldav-status]");
  const errorLine = panel.querySelector("[data-caldav-error]");
  const submit = form.querySelector("[type=submit]");

  function show(caldav) {
    status.hidden = !caldav;
    submit.textContent = caldav ? "Connect another calendar" : "Connect calendar";
    if (!caldav) return;
    panel.querySelector("[data-caldav-url]").textContent = caldav.url;
    panel.querySelector("[data-caldav-user]").textContent = caldav.username;
    panel.querySelector("[data-caldav-sync]").textContent = describeSync(caldav);
    errorLine.hidden = !caldav.last_error;
    errorLine.textContent = caldav.last_error ? `Last error: ${caldav.last_error}` : "";
  }

  // The page says what is connected (the API's GET answers 404 when nothing is).
  function load() {
    show(panel.dataset.caldav ? JSON.parse(panel.dataset.caldav) : null);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {
      url: form.elements.caldav_url.value.trim(),
      username: form.elements.caldav_username.value.trim(),
      password: form.elements.caldav_password.value,
    };
    const { ok, data } = await whileBusy(form, () => sendJSON(API, body, "PUT"));
    if (!ok) {
      showAPIError(form, data, ALIASES);
      return;
    }
    form.reset();
    panel.querySelector("[data-caldav-saved]").textContent = "Connected.";
    show(data.caldav);
  });

  panel.querySelector("[data-caldav-test]").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    const { ok, data } = await sendJSON(`${API}/test`);
    button.disabled = false;
    if (ok) {
      show(data.caldav);
      panel.querySelector("[data-caldav-sync]").textContent = data.caldav.last_error ? describeSync(data.caldav) : "The calendar answered.";
    } else {
      showFormError(form, data.error.message);
    }
  });

  panel.querySelector("[data-caldav-disconnect]").addEventListener("click", async () => {
    if (!window.confirm("Disconnect this calendar? Bookings are no longer written there and its events stop blocking your times.")) return;
    const { ok, status: code, data } = await sendJSON(API, undefined, "DELETE");
    if (ok || code === 404) {
      show(null);
      panel.querySelector("[data-caldav-saved]").textContent = "Disconnected.";
    } else {
      showFormError(form, data.error.message);
    }
  });

  load();
}

for (const panel of document.querySelectorAll("[data-caldav-panel]")) mount(panel);
