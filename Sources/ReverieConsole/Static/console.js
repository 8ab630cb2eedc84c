// Reverie console: live timeline updates and in-page actions. Plain ES module, no dependencies.
// Every HTML fragment it inserts was rendered (and escaped) by the server.

const csrfToken = () => document.querySelector('form.sign-out input[name="csrf"]')?.value ?? "";

function fillTokens(root) {
  for (const input of root.querySelectorAll('input[name="csrf"]')) {
    if (!input.value) input.value = csrfToken();
  }
}

function showError(form, message) {
  let note = form.querySelector(".form-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "notice error form-error";
    form.append(note);
  }
  note.textContent = message;
}

async function submitAsync(event) {
  const form = event.target.closest("form[data-async]");
  if (!form) return;
  event.preventDefault();
  fillTokens(form);
  const button = form.querySelector('button[type="submit"]');
  if (button) button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "X-CSRF-Token": csrfToken() },
      credentials: "same-origin",
      redirect: "manual",
    });
    if (response.type === "opaqueredirect" || response.ok) {
      form.querySelector(".form-error")?.remove();
      if (form.hasAttribute("data-confirm")) form.closest(".confirm")?.remove();
      form.querySelector("textarea")?.form?.reset();
    } else {
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      showError(form, page.querySelector(".notice.error")?.textContent ?? `Request failed (${response.status})`);
    }
  } catch (error) {
    showError(form, `Request failed: ${error}`);
  } finally {
    if (button) button.disabled = false;
  }
}

function confirmFirst(event) {
  const form = event.target.closest("form[data-confirm-text]");
  if (form && !window.confirm(form.dataset.confirmText)) event.preventDefault();
}

function fragment(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  return template.content.firstElementChild;
}

function place(timeline, entry) {
  if (!entry || document.getElementById(entry.id)) return;
  fillTokens(entry);
  const toolUse = entry.dataset.toolUse;
  if (entry.classList.contains("result") && toolUse) {
    const slot = document.querySelector(`#tool-${CSS.escape(toolUse)} .tool-output`);
    const result = entry.querySelector(".result");
    if (slot && result && !slot.firstElementChild) {
      slot.append(result);
      return;
    }
  }
  if (entry.classList.contains("confirmation") && toolUse) {
    document.querySelector(`.confirm[data-tool-use-id="${CSS.escape(toolUse)}"]`)?.remove();
  }
  document.getElementById("no-events")?.remove();
  const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  timeline.append(entry);
  if (nearBottom) entry.scrollIntoView({ block: "end" });
}

function follow(timeline) {
  const params = new URLSearchParams({ after: timeline.dataset.after ?? "0" });
  if (timeline.dataset.thread) params.set("thread", timeline.dataset.thread);
  const source = new EventSource(`/console/sessions/${encodeURIComponent(timeline.dataset.session)}/live?${params}`);
  timeline.dataset.streaming = "connecting";
  source.addEventListener("open", () => { timeline.dataset.streaming = "open"; });
  source.addEventListener("entry", (message) => place(timeline, fragment(message.data)));
  source.addEventListener("status", (message) => {
    const badge = document.getElementById("session-status");
    if (badge) {
      badge.textContent = message.data;
      badge.className = `badge ${message.data}`;
    }
  });
}

document.addEventListener("submit", confirmFirst, true);
document.addEventListener("submit", submitAsync);
fillTokens(document);
const timeline = document.getElementById("timeline");
if (timeline?.dataset.live === "true") follow(timeline);
