// The dashboard's live alerts panel: alerts stack newest first, each with its Dismiss button, and
// "Clear all" empties the stack; the oldest fall off past MAX_ALERTS. On a phone the panel is a
// drawer at the bottom of the screen: collapsed, it shows how many alerts wait and lets a new one
// peek out for a few seconds.
//
// The alerts themselves are the toasts built by dashboard-rows.js (alertItem).

const MAX_ALERTS = 20;
const PEEK_MS = 8000;
const DRAWER = window.matchMedia("(max-width: 980px)"); // app.css's one-column layout

export class AlertsPanel {
  constructor(panel) {
    this.panel = panel;
    this.list = panel.querySelector("[data-toasts]");
    this.empty = panel.querySelector("[data-toasts-empty]");
    this.clearButton = panel.querySelector("[data-clear-alerts]");
    this.toggle = panel.querySelector("[data-alerts-toggle]");
    this.heading = panel.querySelector("h2");
    this.counts = panel.querySelectorAll("[data-alerts-count]");
    this.toggleLabel = panel.querySelector("[data-alerts-toggle-label]");
    this.peekTimer = null;

    panel.addEventListener("click", (event) => {
      const dismiss = event.target.closest("[data-dismiss]");
      if (dismiss) this.dismiss(dismiss.closest(".toast"));
    });
    this.clearButton.addEventListener("click", () => this.clear());
    this.toggle.addEventListener("click", () => this.setOpen(!this.isOpen()));
    panel.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !this.isOpen() || !DRAWER.matches) return;
      this.setOpen(false);
      this.toggle.focus();
    });
    this.update();
  }

  /** Put an alert (an <li class="toast">) on top of the stack. */
  add(item) {
    // Shown before it is added, so screen readers hear the live region change.
    if (DRAWER.matches && !this.isOpen()) this.peek();
    this.list.prepend(item);
    while (this.list.children.length > MAX_ALERTS) this.list.lastElementChild.remove();
    this.update();
  }

  dismiss(item) {
    if (!item || !item.isConnected) return;
    const next = item.nextElementSibling || item.previousElementSibling;
    const hadFocus = item.contains(document.activeElement);
    item.remove();
    this.update();
    if (hadFocus) this.focusAfterRemoval(next);
  }

  clear() {
    this.list.replaceChildren();
    this.update();
    this.focusAfterRemoval(null);
  }

  isOpen() {
    return this.panel.dataset.open === "true";
  }

  setOpen(open) {
    this.panel.dataset.open = String(open);
    this.toggle.setAttribute("aria-expanded", String(open));
    this.stopPeeking();
  }

  peek() {
    clearTimeout(this.peekTimer);
    this.panel.dataset.peek = "";
    this.peekTimer = setTimeout(() => this.stopPeeking(), PEEK_MS);
  }

  stopPeeking() {
    clearTimeout(this.peekTimer);
    delete this.panel.dataset.peek;
  }

  /** Keep the focus in the panel: on the next alert's Dismiss, else on the heading or toggle. */
  focusAfterRemoval(next) {
    const dismiss = next && next.isConnected && next.querySelector("[data-dismiss]");
    if (dismiss) dismiss.focus();
    else if (DRAWER.matches && !this.isOpen()) this.toggle.focus();
    else this.heading.focus();
  }

  update() {
    const count = this.list.children.length;
    for (const badge of this.counts) {
      badge.textContent = String(count);
      badge.hidden = count === 0;
    }
    this.toggleLabel.textContent = count === 1 ? "1 alert" : `${count} alerts`;
    this.empty.hidden = count > 0;
    this.clearButton.hidden = count === 0;
    if (count === 0) this.stopPeeking();
  }
}
