// The forgotten-password, new-password and e-mail-verification pages.
import { clearErrors, sendJSON, showAPIError, showFieldError, whileBusy } from "./api.js";

/** Swap which [data-step] panel of `root` shows, and move focus to it for screen readers. */
function showStep(root, name) {
  for (const step of root.querySelectorAll("[data-step]")) step.hidden = step.dataset.step !== name;
  const shown = root.querySelector(`[data-step="${name}"]`);
  if (shown && shown.hasAttribute("tabindex")) shown.focus();
  return shown;
}

/** The token is in the form now; keep it out of the address bar and the browser's history. */
function forgetTokenInURL() {
  const url = new URL(window.location.href);
  if (!url.searchParams.has("token")) return;
  url.searchParams.delete("token");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
}

// --- /forgot-password -----------------------------------------------------------------------

async function askForReset(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const email = form.elements.email.value.trim();
  if (!email) {
    showFieldError(form, "email", "Enter your email address.");
    form.elements.email.focus();
    return;
  }
  const { ok, data } = await whileBusy(form, () => sendJSON("/api/auth/password-reset", { email }));
  if (!ok) {
    showAPIError(form, data);
    return;
  }
  const card = form.closest(".auth-card");
  card.querySelector("[data-sent-to]").textContent = email;
  showStep(card, "sent");
}

function setUpForgotPassword(form) {
  form.addEventListener("submit", askForReset);
  const card = form.closest(".auth-card");
  card.querySelector("[data-try-again]").addEventListener("click", () => {
    showStep(card, "ask");
    form.elements.email.focus();
  });
}

// --- /reset-password ------------------------------------------------------------------------

async function saveNewPassword(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const password = form.elements.password.value;
  if (password !== form.elements.password_confirm.value) {
    showFieldError(form, "password_confirm", "The two passwords don't match.");
    form.elements.password_confirm.focus();
    return;
  }
  const body = { token: form.dataset.token, password };
  const { ok, data } = await whileBusy(form, () => sendJSON("/api/auth/password-reset/confirm", body));
  if (ok) {
    window.location.assign("/dashboard");
    return;
  }
  showAPIError(form, data);
}

// --- /verify-email --------------------------------------------------------------------------

async function confirmEmail(card) {
  const { ok, data } = await sendJSON("/api/auth/verify-email", { token: card.dataset.token });
  if (ok) {
    card.querySelector("[data-verified-email]").textContent = data.email;
    showStep(card, "verified");
    return;
  }
  const message = (data && data.error && data.error.message) || "Something went wrong. Please try again.";
  card.querySelector("[data-failure]").textContent = message;
  showStep(card, "failed");
}

async function resendVerification(event) {
  const button = event.currentTarget;
  const status = button.parentElement.querySelector("[data-resend-status]");
  button.disabled = true;
  const { ok, data } = await sendJSON("/api/me/verify-email");
  if (ok) {
    status.textContent = data.sent ? "Sent. Check your inbox for the new link." : "Your email is already verified.";
    return;
  }
  button.disabled = false;
  status.textContent = (data && data.error && data.error.message) || "Something went wrong. Please try again.";
}

function setUpVerifyEmail(card) {
  const resend = card.querySelector("[data-resend-verification]");
  if (resend) resend.addEventListener("click", resendVerification);
  if (card.dataset.token) {
    forgetTokenInURL();
    confirmEmail(card);
  }
}

const forgotForm = document.querySelector("[data-forgot-form]");
if (forgotForm) setUpForgotPassword(forgotForm);

const resetForm = document.querySelector("[data-reset-form]");
if (resetForm) {
  forgetTokenInURL();
  resetForm.addEventListener("submit", saveNewPassword);
}

const verifyCard = document.querySelector("[data-verify]");
if (verifyCard) setUpVerifyEmail(verifyCard);
