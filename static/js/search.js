// /services: results follow the search box as you type, without reloading the page.
// The search lives in the URL (?q=&category=&near=&available_on=&page=), so it can be shared and
// survives a reload. Past 1,000 matches the API stops counting: the status then says "1,000+".
import { getJSON } from "./api.js";
import { formatPrice, formatPrices } from "./formatting.js";

const DEBOUNCE_MS = 250;

const form = document.querySelector("[data-search-form]");
const results = document.querySelector("[data-results]");
const status = document.querySelector("[data-search-status]");
const pagination = document.querySelector("[data-pagination]");
const pageSize = Number(form.dataset.pageSize) || 12;
const state = readURL();
let timer = null;
let inFlight = null;

function readURL() {
  const params = new URLSearchParams(window.location.search);
  return {
    q: (params.get("q") || "").trim(),
    category: params.get("category") || "",
    near: (params.get("near") || "").trim(),
    availableOn: params.get("available_on") || "",
    page: Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1),
  };
}

function setFilters(params) {
  if (state.q) params.set("q", state.q);
  if (state.category) params.set("category", state.category);
  if (state.near) params.set("near", state.near);
  if (state.availableOn) params.set("available_on", state.availableOn);
}

function pageURL(page) {
  const params = new URLSearchParams();
  setFilters(params);
  if (page > 1) params.set("page", String(page));
  const query = params.toString();
  return query ? `/services?${query}` : "/services";
}

async function search() {
  if (inFlight) inFlight.abort();
  const controller = new AbortController();
  inFlight = controller;
  const params = new URLSearchParams({ limit: String(pageSize), offset: String((state.page - 1) * pageSize) });
  setFilters(params);
  history.replaceState(null, "", pageURL(state.page));
  results.setAttribute("aria-busy", "true");
  const { ok, data } = await getJSON(`/api/services?${params}`);
  // A search typed since has superseded this one: its answer is simply ignored.
  if (controller.signal.aborted) return;
  inFlight = null;
  results.removeAttribute("aria-busy");
  if (!ok) {
    status.textContent = (data && data.error && data.error.message) || "Search failed. Please try again.";
    return;
  }
  render(data.services, data.total, data.total_is_estimate);
}

const COUNT = new Intl.NumberFormat();

function describeTotal(total, isEstimate) {
  if (isEstimate) return `${COUNT.format(total)}+ services`;
  return total === 1 ? "1 service" : `${COUNT.format(total)} services`;
}

function filtering() {
  return Boolean(state.q || state.category || state.near || state.availableOn);
}

function render(services, total, isEstimate) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  results.replaceChildren(...services.map(resultItem));
  if (total === 0) status.textContent = filtering() ? "No services match your search." : "No services yet.";
  else status.textContent = describeTotal(total, isEstimate);
  if (services.length === 0 && total > 0 && state.page > 1) status.textContent += ` (page ${state.page} is past the end)`;
  pagination.hidden = pages <= 1 && state.page <= 1;
  const prev = pagination.querySelector("[data-page-link=prev]");
  const next = pagination.querySelector("[data-page-link=next]");
  prev.hidden = state.page <= 1;
  prev.href = pageURL(state.page - 1);
  next.hidden = state.page >= pages;
  next.href = pageURL(state.page + 1);
  pagination.querySelector("[data-page-info]").textContent = `Page ${state.page} of ${pages}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function resultItem(service) {
  const item = element("li", "result card");
  item.dataset.serviceId = service.id;
  const heading = element("h2", "result-name");
  const link = element("a", "", service.name);
  link.href = `/services/${service.id}`;
  heading.append(link);
  item.append(heading, element("p", "result-provider", service.provider.business_name));
  if (service.description) item.append(element("p", "result-description", truncate(service.description, 160)));
  const meta = element("p", "result-meta");
  meta.append(element("span", "result-price", formatPrice(service.price_cents, service.currency)));
  meta.append(element("span", "", `${service.duration_minutes} min`));
  if (service.category) meta.append(element("span", "badge", service.category));
  if (service.location) meta.append(element("span", "result-location", service.location));
  item.append(meta);
  return item;
}

function truncate(text, length) {
  return text.length <= length ? text : `${text.slice(0, length - 1).trimEnd()}…`;
}

function searchSoon() {
  clearTimeout(timer);
  timer = setTimeout(search, DEBOUNCE_MS);
}

form.q.addEventListener("input", () => {
  state.q = form.q.value.trim();
  state.page = 1;
  searchSoon();
});

form.category.addEventListener("change", () => {
  state.category = form.category.value;
  state.page = 1;
  clearTimeout(timer);
  search();
});

form.near.addEventListener("input", () => {
  state.near = form.near.value.trim();
  state.page = 1;
  searchSoon();
});

form.available_on.addEventListener("change", () => {
  // An unfinished or impossible date reads as "" in a date input: the filter is left out.
  state.availableOn = form.available_on.value;
  state.page = 1;
  clearTimeout(timer);
  search();
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  state.q = form.q.value.trim();
  state.category = form.category.value;
  state.near = form.near.value.trim();
  state.availableOn = form.available_on.value;
  state.page = 1;
  clearTimeout(timer);
  search();
});

pagination.addEventListener("click", (event) => {
  const link = event.target.closest("[data-page-link]");
  if (!link) return;
  event.preventDefault();
  state.page = Math.max(1, state.page + (link.dataset.pageLink === "next" ? 1 : -1));
  search().then(() => status.focus());
  form.scrollIntoView({ block: "start" });
});

status.tabIndex = -1;
formatPrices(results);
