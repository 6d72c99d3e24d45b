// The dashboard: connecting payouts and listing the provider's services.
import { getJSON } from "./api.js";
import { connectPayouts } from "./payouts.js";

const connectButton = document.querySelector("[data-connect-payouts]");
if (connectButton) {
  connectButton.addEventListener("click", () =>
    connectPayouts(connectButton, document.querySelector("[data-payouts-error]")),
  );
}

const list = document.querySelector("[data-services-list]");
if (list) loadServices(list, document.querySelector("[data-services-status]"));

// The provider's own services, deleted ones included (shown as such).
async function loadServices(list, status) {
  const { ok, data } = await getJSON("/api/providers/me/services");
  if (!ok) {
    status.textContent = (data && data.error && data.error.message) || "We couldn't load your services.";
    return;
  }
  const services = data.services || [];
  list.replaceChildren(...services.map(serviceItem));
  status.textContent = services.length ? "" : "No services yet. Add your first one so customers can book you.";
  status.hidden = services.length > 0;
}

function serviceItem(service) {
  const item = document.createElement("li");
  item.className = "service-item";
  item.dataset.serviceId = service.id;
  const title = document.createElement("a");
  title.href = `/services/${service.id}`;
  title.className = "service-name";
  title.textContent = service.name;
  const meta = document.createElement("p");
  meta.className = "service-meta";
  meta.textContent = [formatPrice(service.price_cents, service.currency), `${service.duration_minutes} min`, service.category]
    .filter(Boolean)
    .join(" · ");
  item.append(title, meta);
  if (service.is_active === false) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "Inactive";
    item.append(badge);
  }
  return item;
}

export function formatPrice(cents, currency) {
  if (!cents) return "Free";
  const digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 10 ** digits);
}
