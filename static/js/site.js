// Behaviour every page shares: the "Log out" buttons.
import { sendJSON } from "./api.js";

async function logOut(event) {
  const button = event.currentTarget;
  button.disabled = true;
  await sendJSON("/api/auth/logout");
  window.location.assign("/");
}

for (const button of document.querySelectorAll("[data-logout]")) {
  button.addEventListener("click", logOut);
}
