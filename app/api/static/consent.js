// My consent: each decision is one click; the state and receipt then refresh in place.
"use strict";

(() => {
  const message = document.getElementById("decide-message");
  const status = document.getElementById("consent-status");
  const names = { given: "Consent given", refused: "Refused", withdrawn: "Consent withdrawn" };

  async function refresh() {
    const response = await fetch("/consent/status", { credentials: "same-origin" });
    if (!response.ok || response.redirected) throw new Error("sign in again to see your state");
    status.innerHTML = await response.text();
  }

  async function decide(button) {
    const group = button.closest(".decide");
    const buttons = group.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    mk.say(message, "Recording…");
    try {
      const event = await mk.api("POST", "/v1/consent", {
        decision: button.dataset.decision,
        purpose: group.dataset.purpose,
        notice_version_id: group.dataset.notice,
      });
      await refresh();
      mk.say(message, `${names[event.state] || event.state}: recorded as entry ${event.seq}.`, "ok");
    } catch (error) {
      mk.say(message, `Not recorded: ${error.message}`, "error");
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  document.querySelectorAll(".decide button[data-decision]").forEach((button) => {
    button.addEventListener("click", () => decide(button));
  });
})();
