// The /embed page: copy a service's widget snippet to the clipboard.

for (const button of document.querySelectorAll("[data-copy-snippet]")) {
  button.addEventListener("click", () => copySnippet(button));
}

async function copySnippet(button) {
  const snippet = document.getElementById(button.dataset.copySnippet);
  const status = button.parentElement.querySelector("[data-copy-status]");
  try {
    await navigator.clipboard.writeText(snippet.value);
    status.textContent = "Copied.";
  } catch {
    // No clipboard access (an insecure origin, a denied permission): select it for Ctrl+C.
    snippet.focus();
    snippet.select();
    status.textContent = "Press Ctrl+C (⌘C on a Mac) to copy.";
  }
}
