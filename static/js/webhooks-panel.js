// The webhooks panel on /availability: add a webhook (its secret shown once, with a copy
// button), list them with their last deliveries, delete.
import { clearErrors, getJSON, sendJSON, showAPIError, showFieldError, showFormError, whileBusy } from "./api.js";

const API = "/api/providers/me/webhooks";
const ALIASES = { url: "webhook_url", events: "webhook_events" };
const STATUS_TEXT = { pending: "Retrying", delivered: "Delivered", failed: "Failed" };
const STATUS_BADGE = { pending: "badge", delivered: "badge badge-ok", failed: "badge badge-warn" };

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function when(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function deliveriesTable(deliveries) {
  if (deliveries.length === 0) return element("p", { class: "muted" }, "No deliveries yet.");
  const table = element("table", { class: "webhook-deliveries" });
  const head = table.createTHead().insertRow();
  for (const title of ["Event", "When", "Status", "Attempts", "Answer"]) head.append(element("th", { scope: "col" }, title));
  const body = table.createTBody();
  for (const delivery of deliveries) {
    const row = body.insertRow();
    row.append(
      element("td", {}, delivery.event),
      element("td", {}, when(delivery.created_at)),
      element("td", {}, ""),
      element("td", {}, String(delivery.attempts)),
      element("td", {}, delivery.response_status === null ? "—" : String(delivery.response_status)),
    );
    row.cells[2].append(element("span", { class: STATUS_BADGE[delivery.status] || "badge" }, STATUS_TEXT[delivery.status] || delivery.status));
  }
  const wrapper = element("div", { class: "table-scroll" });
  wrapper.append(table);
  return wrapper;
}

function mount(panel) {
  const form = panel.querySelector("[data-webhook-form]");
  const list = panel.querySelector("[data-webhook-list]");
  const empty = panel.querySelector("[data-webhook-empty]");
  const secretBox = panel.querySelector("[data-webhook-secret]");
  const secretValue = panel.querySelector("[data-webhook-secret-value]");
  const copyStatus = panel.querySelector("[data-webhook-copy-status]");

  function item(webhook) {
    const entry = element("li", { class: "stack webhook-item", "data-webhook": webhook.id });
    const head = element("div", { class: "panel-head" });
    head.append(element("strong", { class: "webhook-url" }, webhook.url));
    const actions = element("div", { class: "form-actions" });
    const toggle = element("button", { type: "button", class: "button button-secondary button-small", "aria-expanded": "false" }, "Deliveries");
    const remove = element("button", { type: "button", class: "button button-secondary button-small" }, "Delete");
    actions.append(toggle, remove);
    head.append(actions);
    const deliveries = element("div", { class: "webhook-deliveries-box", hidden: "" });
    entry.append(head, element("p", { class: "muted" }, webhook.events.join(", ")), deliveries);

    toggle.addEventListener("click", async () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      deliveries.hidden = open;
      if (open) return;
      deliveries.replaceChildren(element("p", { class: "muted" }, "Loading…"));
      const { ok, data } = await getJSON(`${API}/${webhook.id}/deliveries`);
      deliveries.replaceChildren(ok ? deliveriesTable(data.deliveries) : element("p", { class: "field-error" }, data.error.message));
    });
    remove.addEventListener("click", async () => {
      if (!window.confirm(`Delete the webhook to ${webhook.url}? Events not yet delivered are dropped.`)) return;
      const { ok, status, data } = await sendJSON(`${API}/${webhook.id}`, undefined, "DELETE");
      if (ok || status === 404) {
        entry.remove();
        empty.hidden = list.children.length > 0;
      } else {
        showFormError(form, data.error.message);
      }
    });
    return entry;
  }

  function show(webhooks) {
    list.replaceChildren(...webhooks.map(item));
    empty.hidden = webhooks.length > 0;
  }

  async function load() {
    const { ok, data } = await getJSON(API);
    if (ok) show(data.webhooks);
    else showFormError(form, data.error.message);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const events = [...form.querySelectorAll("[name=webhook_events]:checked")].map((box) => box.value);
    if (events.length === 0) {
      showFieldError(form, "webhook_events", "Choose at least one event.");
      return;
    }
    const body = { url: form.elements.webhook_url.value.trim(), events };
    if (!/^https?:\/\/[^\s@]+$/i.test(body.url)) {
      showFieldError(form, "webhook_url", "Give an http:// or https:// address, without spaces or a user name.");
      return;
    }
    const { ok, data } = await whileBusy(form, () => sendJSON(API, body));
    if (!ok) {
      showAPIError(form, data, ALIASES);
      return;
    }
    form.elements.webhook_url.value = "";
    panel.querySelector("[data-webhook-saved]").textContent = "Webhook added.";
    secretValue.value = data.webhook.secret;
    copyStatus.textContent = "";
    secretBox.hidden = false;
    list.append(item(data.webhook));
    empty.hidden = true;
  });

  panel.querySelector("[data-webhook-copy]").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secretValue.value);
      copyStatus.textContent = "Copied.";
    } catch {
      // No clipboard access (an insecure origin, a denied permission): select it for Ctrl+C.
      secretValue.select();
      copyStatus.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  });

  load();
}

for (const panel of document.querySelectorAll("[data-webhooks-panel]")) mount(panel);
