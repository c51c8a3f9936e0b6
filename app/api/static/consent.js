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

  const override = document.getElementById("override-gpc");

  async function decide(button, overriding) {
    const group = button.closest(".decide");
    const buttons = group.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    override.hidden = true;
    mk.say(message, "Recording…");
    try {
      const event = await mk.api("POST", "/v1/consent", {
        decision: button.dataset.decision,
        purpose: group.dataset.purpose,
        notice_version_id: group.dataset.notice,
        override_gpc: Boolean(overriding),
      });
      await refresh();
      const when = new Date(event.recorded_at).toLocaleString();
      mk.say(message, `${names[event.state] || event.state}: recorded ${when}, in the receipt below.`, "ok");
    } catch (error) {
      mk.say(message, `Not recorded: ${error.message}`, "error");
      if (error.code === "gpc_signalled") {
        // The browser's privacy signal opted the person out; they may still choose to give.
        override.hidden = false;
        override.onclick = () => overrideGpc(button);
        await refresh().catch(() => {});
      }
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  // The signal's opt-out came after the notice was shown: the notice on this page is
  // recorded as shown again (it is still on screen) before the give that overrides it.
  async function overrideGpc(button) {
    const group = button.closest(".decide");
    try {
      const served = await mk.api("GET", "/v1/consent/notice");
      if (served.notice.id !== group.dataset.notice) {
        mk.say(message, "The notice has changed since this page was loaded: reload it and read the new version.", "error");
        return;
      }
    } catch (error) {
      mk.say(message, `Not recorded: ${error.message}`, "error");
      return;
    }
    await decide(button, true);
  }

  document.querySelectorAll(".decide button[data-decision]").forEach((button) => {
    button.addEventListener("click", () => decide(button, false));
  });
})();
