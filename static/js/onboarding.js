// Becoming a provider: default the time zone to the device's, post, then on to the dashboard.
import { clearErrors, formValues, sendJSON, showAPIError, whileBusy } from "./api.js";

const form = document.getElementById("onboarding-form");
const zoneSelect = document.getElementById("timezone");

// A zone someone already picked (the page can be used before this module has run) stays.
function preselectDeviceZone() {
  if (!zoneSelect.selectedOptions[0]?.defaultSelected) return;
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return;
  }
  if ([...zoneSelect.options].some((option) => option.value === zone)) zoneSelect.value = zone;
}

async function submit(event) {
  event.preventDefault();
  clearErrors(form);
  const values = formValues(form);
  const body = { business_name: values.business_name, timezone: values.timezone };
  if (values.phone && values.phone.trim()) body.phone = values.phone.trim();
  const { ok, status, data } = await whileBusy(form, () => sendJSON("/api/providers", body));
  if (ok || (status === 409 && data?.error?.code === "already_provider")) {
    window.location.assign("/dashboard");
    return;
  }
  showAPIError(form, data);
}

preselectDeviceZone();
form.addEventListener("submit", submit);
