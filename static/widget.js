/*
 * Appointly's embeddable booking widget. On any site:
 *
 *   <script src="https://APPOINTLY/static/widget.js" data-service="SERVICE_ID"></script>
 *
 * renders the service, a day picker, live slots and a booking form right after the script tag
 * (or inside the element whose id is in data-target). Everything lives in an open shadow root
 * with its own styles, so the host page's CSS cannot reach in and ours cannot leak out. The API
 * origin is the script's own; requests never carry cookies (credentials: "omit"). A classic
 * script, not a module, so that document.currentScript names the tag that loaded it: several
 * tags on one page give several independent widgets.
 */
(() => {
  "use strict";

  const DAYS = 14;
  const FIRST_RETRY_MS = 500;
  const MAX_RETRY_MS = 15000;
  // API field → form field, so a 422 lands next to the input it is about.
  const FIELDS = { customer_name: "name", customer_email: "email", customer_phone: "phone" };
  const OFFLINE = "We couldn't reach the booking service. Check your connection and try again.";

  // .days is width 0 + min-width 100%: the 14-day strip scrolls instead of widening the host's
  // grid, flex or table cell (its min-content width would otherwise be all 14 buttons).
  const STYLES = `
:host{all:initial!important;display:block!important}
.w{box-sizing:border-box;max-width:560px;padding:18px;border:1px solid #e2e8f0;border-radius:14px;
background:#fff;color:#0f172a;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
text-align:left;overflow-wrap:anywhere}
.w *,.w *::before,.w *::after{box-sizing:border-box}
[hidden]{display:none!important}
h2{font-size:19px;margin:0 0 2px;font-weight:700}
h3{font-size:15px;margin:14px 0 8px;font-weight:650}
p{margin:0 0 8px}
.meta,.muted,.opt{color:#475569}
.meta{margin:0}
.status{display:flex;align-items:center;gap:6px;margin:6px 0 0;font-size:13px;color:#475569}
.status::before{content:"";width:8px;height:8px;border-radius:50%;background:#94a3b8}
.status.on::before{background:#059669}
button,input{font:inherit;color:inherit;margin:0}
button{cursor:pointer;min-height:40px;padding:8px 10px;border:1px solid #cbd5e1;border-radius:10px;
background:#fff}
button:hover{border-color:#4f46e5}
button[aria-pressed=true]{background:#4f46e5;border-color:#4f46e5;color:#fff}
button:disabled{opacity:.6;cursor:default}
:focus-visible{outline:3px solid #4f46e5;outline-offset:2px}
.days{display:flex;gap:6px;overflow-x:auto;padding:4px 3px 8px;margin:10px -3px 0;width:0;min-width:calc(100% + 6px)}
.day{position:relative;flex:0 0 62px;display:flex;flex-direction:column;align-items:center;padding:6px 2px;line-height:1.2}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.wd{font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.dn{font-size:18px;font-weight:700}
.count{font-size:11px}
.day.none:not([aria-pressed=true]){color:#64748b}
.slots{display:grid;grid-template-columns:repeat(auto-fill,minmax(76px,1fr));gap:6px}
.slots:focus{outline:none}
.slots p{grid-column:1/-1}
.slot{font-weight:600;font-variant-numeric:tabular-nums}
form{display:grid;gap:10px;margin-top:14px;padding-top:14px;border-top:1px solid #e2e8f0}
.field{display:grid;gap:4px}
label{font-size:14px;font-weight:600}
.opt{font-weight:400}
input{width:100%;min-height:42px;padding:9px 11px;border:1px solid #cbd5e1;border-radius:10px;background:#fff}
input[aria-invalid=true]{border-color:#b91c1c}
.ferr{font-size:13px;color:#b91c1c}
.ferr:empty{display:none}
.primary{display:inline-block;padding:10px 18px;border:1px solid #4f46e5;border-radius:10px;
background:#4f46e5;color:#fff;font-weight:650;text-decoration:none}
.primary:hover{background:#4338ca}
.alert{margin:10px 0 0;color:#b91c1c}
.alert:empty{display:none}
.result:focus{outline:none}
.links{display:flex;flex-wrap:wrap;gap:12px;align-items:center}
a{color:#4f46e5}
.by{margin:14px 0 0;font-size:12px;color:#64748b}
`;

  let sheet = null;

  function styleRoot(root) {
    if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
      // A constructed sheet is CSSOM, so a strict host CSP (style-src 'self') still allows it.
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLES);
      }
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(h("style", { text: STYLES }));
    }
  }

  /** document.createElement with attributes, listeners (onclick…) and children. */
  function h(tag, props = {}, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(props)) {
      if (value == null || value === false) continue;
      if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else if (name === "text") el.textContent = value;
      else el.setAttribute(name, value === true ? "" : value);
    }
    el.append(...children.filter((child) => child != null));
    return el;
  }

  // --- Dates: slots carry the provider's wall clock, so "09:30" is read straight off them. ---

  function zoneToday(zone) {
    const parts = {};
    const format = new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
    for (const part of format.formatToParts(new Date())) parts[part.type] = part.value;
    return `${parts.year}-${parts.month}-${parts.day}`;
  }

  const asDate = (iso) => new Date(`${iso}T00:00:00Z`);
  const dayFormat = (options) => new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" });
  const LONG_DAY = dayFormat({ weekday: "long", month: "long", day: "numeric" });
  const WEEKDAY = dayFormat({ weekday: "short" });
  const MONTH = dayFormat({ month: "long" });
  const clock = (slot) => slot.start_time.slice(11, 16);

  function addDays(iso, days) {
    const date = asDate(iso);
    date.setUTCDate(date.getUTCDate() + days);
    return date.toISOString().slice(0, 10);
  }

  function price(cents, currency) {
    if (!cents) return "Free";
    try {
      const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
      return format.format(cents / 10 ** format.resolvedOptions().maximumFractionDigits);
    } catch {
      return `${(cents / 100).toFixed(2)} ${currency}`;
    }
  }

  // 120 → "2 hours", 1440 → "24 hours", 2880 → "2 days" (as static/js/rule-text.js words it).
  function span(minutes) {
    const [n, unit] =
      minutes >= 2880 && minutes % 1440 === 0 ? [minutes / 1440, "day"] : minutes >= 60 && minutes % 60 === 0 ? [minutes / 60, "hour"] : [minutes, "minute"];
    return `${n} ${unit}${n === 1 ? "" : "s"}`;
  }

  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  class Widget {
    constructor(host, api, serviceId) {
      this.api = api;
      this.id = serviceId;
      this.slots = new Map(); // start_time → Slot (a freed time may come back with a new id)
      this.day = null;
      this.chosen = null; // start_time of the chosen slot
      this.busy = false;
      this.retries = 0;
      this.root = host.attachShadow({ mode: "open" });
      styleRoot(this.root);
      this.box = h("div", { class: "w" }, h("p", { class: "muted", text: "Loading…" }));
      this.root.append(this.box);
      this.start();
    }

    async request(path, options = {}) {
      let response;
      try {
        response = await fetch(this.api + path, { ...options, mode: "cors", credentials: "omit" });
      } catch {
        return { ok: false, status: 0, error: {}, message: OFFLINE };
      }
      let data = null;
      try {
        data = await response.json();
      } catch {
        // an empty or non-JSON body is reported below like any other failure
      }
      const error = (data && data.error) || {};
      return { ok: response.ok, status: response.status, data, error, message: error.message || "Something went wrong. Please try again." };
    }

    async start() {
      const found = await this.request(`/api/services/${encodeURIComponent(this.id)}`);
      if (!found.ok) return this.fail(found.status ? "This service is not available." : OFFLINE);
      this.service = found.data.service;
      if (!this.service.is_active) return this.fail("This service is not taking bookings.");
      this.zone = this.service.provider.timezone;
      this.first = zoneToday(this.zone);
      this.last = addDays(this.first, DAYS - 1);
      // The socket tier's origin when Appointly serves sockets apart (null: the API's own).
      const realtime = await this.request("/api/realtime");
      this.sockets = (realtime.ok && realtime.data.sockets_url) || this.api.replace(/^http/, "ws"); // https → wss
      this.build();
      this.connect();
      window.addEventListener("online", () => this.socket || this.connect());
    }

    fail(message) {
      this.box.replaceChildren(h("p", { class: "alert", role: "alert", text: message }));
    }

    build() {
      const s = this.service;
      this.status = h("p", { class: "status", role: "status", text: "Connecting…" });
      this.alert = h("p", { class: "alert", role: "alert" });
      this.days = h("div", { class: "days", role: "group", "aria-label": "Day" });
      this.dayButtons = new Map();
      // A day's name is its visible text plus the month for screen readers, with no aria-label,
      // so speech users can say what they see ("click Wed 25"): WCAG 2.5.3 label in name.
      for (let i = 0; i < DAYS; i += 1) {
        const iso = addDays(this.first, i);
        const count = h("span", { class: "count" });
        const button = h(
          "button",
          { type: "button", class: "day", "data-date": iso, "aria-pressed": "false", onclick: () => this.pickDay(iso) },
          h("span", { class: "wd", text: WEEKDAY.format(asDate(iso)) }),
          h("span", { class: "dn", text: String(asDate(iso).getUTCDate()) }),
          h("span", { class: "sr", text: ` ${MONTH.format(asDate(iso))},` }),
          count,
        );
        this.dayButtons.set(iso, { button, count });
        this.days.append(button);
      }
      this.slotsTitle = h("h3", { id: "slots-title" });
      this.slotList = h("div", { class: "slots", role: "group", "aria-labelledby": "slots-title", tabindex: "-1" });
      this.picker = h("div", {}, this.days, this.slotsTitle, this.slotList);
      this.form = this.buildForm();
      this.result = h("div", { class: "result", tabindex: "-1", hidden: true });
      this.box.replaceChildren(
        h("h2", { text: s.name }),
        h("p", { class: "meta", text: `${s.provider.business_name} · ${price(s.price_cents, s.currency)} · ${s.duration_minutes} min` }),
        this.rules(),
        this.status,
        this.picker,
        this.form,
        this.alert,
        this.result,
        h("p", { class: "by", text: `Times in ${this.zone} · Booking by Appointly` }),
      );
    }

    /** The booking rules where they bite: how soon a time can be booked, until when it can be cancelled. */
    rules() {
      const s = this.service;
      const rules = [];
      if (s.min_notice_minutes) rules.push(`Book at least ${span(s.min_notice_minutes)} ahead`);
      if (s.cancel_cutoff_minutes) rules.push(`Free cancellation until ${span(s.cancel_cutoff_minutes)} before`);
      return rules.length ? h("p", { class: "meta", "data-rules": "", text: rules.join(" · ") }) : null;
    }

    /** "Free cancellation until Mon 23 Nov, 09:30" for a booking, in the provider's zone. */
    cancelNote(booking) {
      const minutes = this.service.cancel_cutoff_minutes;
      if (!minutes) return null;
      const deadline = new Date(Date.parse(booking.start_time) - minutes * 60000);
      const text =
        deadline <= new Date()
          ? `It starts in less than ${span(minutes)}, so it can't be cancelled online.`
          : `Free cancellation until ${new Intl.DateTimeFormat(undefined, { timeZone: this.zone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(deadline)}.`;
      return h("p", { class: "muted", text });
    }

    buildForm() {
      const field = (name, label, type, autocomplete, required) =>
        h(
          "div",
          { class: "field" },
          h("label", { for: `f-${name}` }, label, required ? null : h("span", { class: "opt", text: " (optional)" })),
          h("input", { id: `f-${name}`, name, type, autocomplete, required, "aria-describedby": `e-${name}` }),
          h("span", { class: "ferr", id: `e-${name}` }),
        );
      this.chosenText = h("p", { class: "muted" });
      this.submit = h("button", { type: "submit", class: "primary", text: "Book" });
      const form = h(
        "form",
        { hidden: true, "aria-label": "Your details", onsubmit: (event) => { event.preventDefault(); this.waitDay ? this.join() : this.book(); } },
        this.chosenText,
        field("name", "Name", "text", "name", true),
        field("email", "E-mail", "email", "email", true),
        field("phone", "Phone", "tel", "tel", false),
        h("div", {}, this.submit),
      );
      return form;
    }

    connect() {
      clearTimeout(this.retry);
      const socket = new WebSocket(`${this.sockets}/ws/services/${encodeURIComponent(this.id)}/slots?from=${this.first}&to=${this.last}`);
      this.socket = socket;
      socket.onmessage = (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch {
          return;
        }
        if (frame.type === "snapshot") this.retries = 0;
        this.setLive(true);
        this.apply(frame);
      };
      socket.onclose = (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        if (event.code === 4404) return this.fail("This service is not available.");
        this.setLive(false);
        // Exponential backoff with jitter, so a restarted server is not hit by every widget at once.
        const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.retries) * (0.5 + Math.random() / 2);
        this.retries += 1;
        this.retry = setTimeout(() => this.connect(), delay);
      };
    }

    applySlot(slot, removed) {
      const known = this.slots.get(slot.start_time);
      if (!removed) this.slots.set(slot.start_time, slot);
      else if (!known || known.id === slot.id) this.slots.delete(slot.start_time);
    }

    setLive(live) {
      const text = live ? "Live availability" : "Reconnecting…";
      if (this.status.textContent === text) return;
      this.status.textContent = text;
      this.status.classList.toggle("on", live);
    }

    /** A snapshot replaces the whole view; a slot frame changes one time, keyed by start_time. */
    apply(frame) {
      if (frame.type === "snapshot") {
        this.slots = new Map(frame.slots.map((slot) => [slot.start_time, slot]));
      } else if (frame.type === "slot") {
        this.applySlot(frame.slot, frame.removed);
      } else if (frame.type === "slots") {
        for (const { removed, ...slot } of frame.slots) this.applySlot(slot, removed);
      } else {
        return;
      }
      if (this.day === null) this.day = this.firstDayWithRoom();
      this.checkChosenSlot();
      this.renderDays();
      this.renderSlots();
    }

    freeSlots(day) {
      return [...this.slots.values()]
        .filter((slot) => slot.available && (day === undefined || slot.slot_date === day))
        .sort((a, b) => (a.start_time < b.start_time ? -1 : 1));
    }

    firstDayWithRoom() {
      const free = this.freeSlots();
      return free.length ? free[0].slot_date : this.first;
    }

    checkChosenSlot() {
      if (this.chosen === null || this.busy) return;
      const slot = this.slots.get(this.chosen);
      if (slot && slot.available) return;
      this.say(`Sorry, ${this.chosen.slice(11, 16)} was just taken. Please choose another time.`);
      this.unchoose();
    }

    renderDays() {
      const counts = {};
      for (const slot of this.freeSlots()) counts[slot.slot_date] = (counts[slot.slot_date] || 0) + 1;
      for (const [iso, { button, count }] of this.dayButtons) {
        const free = counts[iso] || 0;
        count.textContent = free ? `${free} free` : "none";
        button.classList.toggle("none", !free);
        button.setAttribute("aria-pressed", String(iso === this.day));
      }
    }

    renderSlots() {
      const focused = this.root.activeElement;
      const focusedTime = focused && focused.dataset ? focused.dataset.start : undefined;
      const free = this.freeSlots(this.day);
      this.slotsTitle.textContent = `Times on ${LONG_DAY.format(asDate(this.day))}`;
      this.slotList.replaceChildren(
        ...free.map((slot) =>
          h("button", {
            type: "button",
            class: "slot",
            "data-start": slot.start_time,
            "aria-pressed": String(slot.start_time === this.chosen),
            text: clock(slot),
            onclick: () => this.choose(slot.start_time),
          }),
        ),
      );
      if (!free.length) {
        // Times exist but all are taken: a full day offers its waitlist instead.
        const full = [...this.slots.values()].some((slot) => slot.slot_date === this.day && Date.parse(slot.start_time) > Date.now());
        this.slotList.append(
          h("p", { class: "muted", text: full ? "This day is full." : "No free times on this day." }),
          full ? h("button", { type: "button", text: "Join the waitlist", onclick: () => this.chooseWaitlist() }) : null,
        );
      }
      // Keep keyboard focus where it was when the list is rebuilt under it.
      if (focusedTime !== undefined) {
        const again = [...this.slotList.children].find((el) => el.dataset.start === focusedTime);
        (again || this.slotList).focus();
      }
    }

    pickDay(iso) {
      if (this.waitDay && this.waitDay !== iso) this.unchoose();
      this.day = iso;
      this.renderDays();
      this.renderSlots();
    }

    choose(startTime) {
      const slot = this.slots.get(startTime);
      if (!slot || !slot.available || this.busy) return;
      this.chosen = startTime;
      this.waitDay = null;
      this.submit.textContent = "Book";
      this.say("");
      this.chosenText.textContent = `${LONG_DAY.format(asDate(slot.slot_date))} at ${clock(slot)}`;
      this.form.hidden = false;
      this.renderSlots();
      this.form.elements.namedItem("name").focus();
    }

    unchoose() {
      this.chosen = null;
      this.waitDay = null;
      this.form.hidden = true;
    }

    chooseWaitlist() {
      this.chosen = null;
      this.waitDay = this.day;
      this.say("");
      this.chosenText.textContent = `Waitlist for ${LONG_DAY.format(asDate(this.day))}: if a time comes free, it is held for you and we e-mail you a link to book it.`;
      this.submit.textContent = "Join the waitlist";
      this.form.hidden = false;
      this.form.elements.namedItem("name").focus();
    }

    async join() {
      const values = Object.fromEntries(new FormData(this.form));
      const body = {
        date: this.waitDay,
        customer_name: values.name.trim(),
        customer_email: values.email.trim(),
        customer_timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      };
      if (values.phone.trim()) body.customer_phone = values.phone.trim();
      this.clearErrors();
      this.setBusy(true);
      const answer = await this.request(`/api/services/${encodeURIComponent(this.id)}/waitlist`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      this.setBusy(false);
      if (!answer.ok) return answer.status === 409 ? this.say(answer.message) : this.showErrors(answer);
      const entry = answer.data.entry;
      this.unchoose();
      this.form.reset();
      this.picker.hidden = true;
      this.result.replaceChildren(
        h("h3", { text: "You're on the waitlist" }),
        h("p", {}, `${LONG_DAY.format(asDate(entry.date))}: you're number `, h("strong", { text: String(entry.position) }), " in line."),
        h("p", { class: "muted", text: "If a time comes free it is held for you, and we e-mail you a link to book it." }),
        h(
          "p",
          { class: "links" },
          h("a", { href: answer.data.manage_url, target: "_blank", rel: "noopener", text: "Your place in line" }),
          h("button", { type: "button", text: "Back to times", onclick: () => this.again() }),
        ),
      );
      this.result.hidden = false;
      this.result.focus();
    }

    say(message) {
      this.alert.textContent = message;
    }

    async book() {
      const slot = this.slots.get(this.chosen);
      if (this.busy || !slot) return;
      const values = Object.fromEntries(new FormData(this.form));
      const body = {
        slot_id: slot.id,
        customer_name: values.name.trim(),
        customer_email: values.email.trim(),
        customer_timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      };
      if (values.phone.trim()) body.customer_phone = values.phone.trim();
      const json = JSON.stringify(body);
      // A retry of the same booking reuses its key, so a lost answer never books twice.
      if (json !== this.sentBody) {
        this.sentBody = json;
        this.key = newKey();
      }
      this.clearErrors();
      this.setBusy(true);
      const answer = await this.request("/api/bookings", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": this.key },
        body: json,
      });
      this.setBusy(false);
      if (answer.ok) return this.showBooked(answer.data);
      if (answer.status === 409) return this.lostTheSlot(answer);
      this.showErrors(answer);
    }

    setBusy(busy) {
      this.busy = busy;
      this.submit.disabled = busy;
      const label = this.waitDay ? "Join the waitlist" : "Book";
      this.submit.textContent = busy ? `${label}…` : label;
    }

    async lostTheSlot(answer) {
      const taken = answer.error.code === "slot_taken";
      this.say(taken ? "Sorry, that time was just taken. Please choose another time." : answer.message);
      this.unchoose();
      this.sentBody = null;
      this.slotList.focus();
      // Do not wait for the socket: fetch the days again so the list is right at once.
      const fresh = await this.request(`/api/services/${encodeURIComponent(this.id)}/slots?from=${this.first}&to=${this.last}`);
      if (fresh.ok) this.apply({ type: "snapshot", slots: fresh.data.slots });
    }

    clearErrors() {
      this.say("");
      for (const error of this.form.querySelectorAll(".ferr")) error.textContent = "";
      for (const input of this.form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
    }

    showErrors(answer) {
      const fields = { ...answer.error.fields };
      if (answer.error.code === "invalid_email" && !fields.customer_email) fields.customer_email = answer.message;
      let first = null;
      for (const [apiName, message] of Object.entries(fields)) {
        const name = FIELDS[apiName];
        if (!name) continue;
        this.root.getElementById(`e-${name}`).textContent = message;
        const input = this.form.elements.namedItem(name);
        input.setAttribute("aria-invalid", "true");
        first = first || input;
      }
      if (first) first.focus();
      else this.say(answer.message);
    }

    showBooked(data) {
      const booking = data.appointment;
      this.unchoose();
      this.form.reset();
      this.sentBody = null;
      this.picker.hidden = true;
      this.result.replaceChildren(
        h("h3", { text: "You're booked" }),
        h(
          "p",
          {},
          `${LONG_DAY.format(asDate(booking.slot_date))} at ${booking.start_time.slice(11, 16)}. Your number is `,
          h("strong", { text: String(booking.token) }),
          ".",
        ),
        booking.status === "PENDING" ? h("p", { class: "muted", text: "The provider will confirm your booking." }) : null,
        this.cancelNote(booking),
        h(
          "p",
          { class: "links" },
          data.checkout_url ? h("a", { class: "primary", href: data.checkout_url, target: "_blank", rel: "noopener", text: "Pay now" }) : null,
          h("a", { href: data.manage_url, target: "_blank", rel: "noopener", text: "Manage your booking" }),
          h("button", { type: "button", text: "Book another time", onclick: () => this.again() }),
        ),
      );
      this.result.hidden = false;
      this.result.focus();
    }

    again() {
      this.result.hidden = true;
      this.picker.hidden = false;
      this.renderDays();
      this.renderSlots();
      this.days.querySelector("[aria-pressed=true]").focus();
    }
  }

  function mount(script) {
    if (!script.dataset.service || script.hasAttribute("data-appointly-mounted")) return;
    script.setAttribute("data-appointly-mounted", "");
    const targetId = script.dataset.target;
    const place = () => {
      const host = document.createElement("appointly-widget");
      const target = targetId && document.getElementById(targetId);
      if (target) target.append(host);
      else if (script.parentNode && script.parentNode !== document.head) script.after(host);
      else document.body.append(host);
      new Widget(host, new URL(script.src, document.baseURI).origin, script.dataset.service);
    };
    const mustWait = targetId ? !document.getElementById(targetId) : !script.parentNode || script.parentNode === document.head;
    if (mustWait && document.readyState === "loading") document.addEventListener("DOMContentLoaded", place, { once: true });
    else place();
  }

  const current = document.currentScript;
  const scripts = current ? [current] : document.querySelectorAll('script[src*="/widget.js"][data-service]');
  for (const script of scripts) mount(script);
})();
