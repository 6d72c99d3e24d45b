// The dashboard's "Move" dialog: the service page's live picker for the appointment's service,
// then one click on "Move to …". Resolves to the chosen free slot, or null when the provider
// backs out.
import { formatDay, formatMoment } from "./formatting.js";
import { timeRange } from "./dashboard-rows.js";
import { mountSlotPicker } from "./slot-picker.js";

/**
 * @param {HTMLDialogElement} dialog  the [data-move-dialog] of dashboard.html
 * @param {object} appointment  the Appointment to move
 * @param {string} timeZone  the provider's
 * @returns {Promise<object|null>}
 */
export function askNewTime(dialog, appointment, timeZone) {
  const holder = dialog.querySelector("[data-move-picker]");
  const template = dialog.querySelector("[data-move-picker-template]");
  const confirm = dialog.querySelector("[data-move-confirm]");
  const go = dialog.querySelector("[data-move-go]");
  dialog.querySelector("[data-move-summary]").textContent =
    `${appointment.customer_name} · ${appointment.service_name} · now ${formatDay(appointment.slot_date)} ${timeRange(appointment, timeZone)}`;
  holder.replaceChildren(template.content.cloneNode(true));
  const pickerRoot = holder.querySelector("[data-slot-picker]");
  pickerRoot.dataset.serviceId = appointment.service_id;
  pickerRoot.dataset.timezone = timeZone;
  confirm.hidden = true;
  let chosen = null;
  const picker = mountSlotPicker(pickerRoot, {
    isOffered: (slot) => slot.start_time !== appointment.start_time,
    onPick(slot) {
      chosen = slot;
      go.textContent = `Move to ${formatMoment(slot.start_time, timeZone)}`;
      confirm.hidden = false;
      go.focus();
    },
  });
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        picker.stop();
        holder.replaceChildren();
        resolve(dialog.returnValue === "go" && chosen ? chosen : null);
      },
      { once: true },
    );
    dialog.showModal();
  });
}
