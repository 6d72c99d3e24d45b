// "Connect payouts": ask the API for a Stripe onboarding link and go there.
import { sendJSON } from "./api.js";

export async function connectPayouts(button, errorSlot) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (errorSlot) errorSlot.hidden = true;
  const { ok, data } = await sendJSON("/api/providers/me/stripe/connect");
  if (ok && data && data.url) {
    window.location.assign(data.url);
    return;
  }
  button.disabled = false;
  button.removeAttribute("aria-busy");
  if (errorSlot) {
    errorSlot.textContent = (data && data.error && data.error.message) || "We couldn't start the payouts setup.";
    errorSlot.hidden = false;
  }
}
