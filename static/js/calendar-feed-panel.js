// The calendar feed panel on /availability: show the secret subscription URL, copy it, rotate it.
import { getJSON, sendJSON } from "./api.js";

const API = "/api/providers/me/calendar-feed";

function mount(panel) {
  const input = panel.querySelector("[data-calendar-feed-url]");
  const status = panel.querySelector("[data-calendar-feed-status]");
  const rotate = panel.querySelector("[data-calendar-feed-rotate]");

  function show({ ok, data }) {
    if (ok) {
      input.value = data.url;
      input.placeholder = "";
    } else {
      status.textContent = data.error.message;
    }
  }

  panel.querySelector("[data-calendar-feed-copy]").addEventListener("click", async () => {
    if (!input.value) return;
    try {
      await navigator.clipboard.writeText(input.value);
      status.textContent = "Address copied.";
    } catch {
      // No clipboard permission (or not a secure context): select it for the user to copy.
      input.focus();
      input.select();
      status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected address.";
    }
  });

  rotate.addEventListener("click", async () => {
    if (!window.confirm("Make a new address? Calendars subscribed to the current one stop updating until you subscribe again with the new one.")) return;
    rotate.disabled = true;
    const answer = await sendJSON(`${API}/rotate`);
    rotate.disabled = false;
    show(answer);
    if (answer.ok) status.textContent = "New address made; the old one no longer works.";
  });

  getJSON(API).then(show);
}

const panel = document.querySelector("[data-calendar-feed-panel]");
if (panel) mount(panel);
