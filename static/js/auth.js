// The sign-up and log-in forms: post JSON, show the API's errors, then go on to `next`.
import { clearErrors, formValues, sendJSON, showAPIError, whileBusy } from "./api.js";

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const { data, ok } = await whileBusy(form, () => sendJSON(form.dataset.endpoint, formValues(form)));
  if (ok) {
    // data-next was checked on the server (server/domain/redirects.py): a local path or empty.
    window.location.assign(form.dataset.next || "/dashboard");
    return;
  }
  // Wrong credentials belong to the pair, not to one field: the banner says so.
  showAPIError(form, data, { email_taken: "email", weak_password: "password" });
}

for (const form of document.querySelectorAll("[data-auth-form]")) {
  form.addEventListener("submit", submit);
}
