// The sign-up and log-in forms: post JSON, show the API's errors, then go on to `next`.
import { clearErrors, formValues, safeNext, sendJSON, showAPIError, whileBusy } from "./api.js";

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const { data, ok } = await whileBusy(form, () => sendJSON(form.dataset.endpoint, formValues(form)));
  if (ok) {
    window.location.assign(safeNext(form.dataset.next));
    return;
  }
  // Wrong credentials belong to the pair, not to one field: the banner says so.
  showAPIError(form, data, { email_taken: "email", weak_password: "password" });
}

for (const form of document.querySelectorAll("[data-auth-form]")) {
  form.addEventListener("submit", submit);
}
