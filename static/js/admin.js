// The operator's page: "Retry" puts a failed message back into the outbox.

import { sendJSON } from "./api.js";

async function retryMessage(button) {
  const item = button.closest("[data-message]");
  const error = item.querySelector("[data-retry-error]");
  error.textContent = "";
  button.disabled = true;
  button.textContent = "Retrying…";
  const { ok, data } = await sendJSON(`/api/admin/messages/${encodeURIComponent(button.dataset.retryMessage)}/retry`);
  if (ok) {
    item.dataset.retried = "true";
    item.querySelector("[data-message-status]").textContent = `${data.message.channel} · queued again`;
    button.textContent = "Queued again";
    return;
  }
  error.textContent = (data && data.error && data.error.message) || "Could not retry. Please try again.";
  button.disabled = false;
  button.textContent = "Retry";
}

function start() {
  const page = document.querySelector("[data-admin]");
  if (!page) return;
  page.addEventListener("click", (event) => {
    const button = event.target.closest("[data-retry-message]");
    if (button && !button.disabled) retryMessage(button);
  });
}

start();
