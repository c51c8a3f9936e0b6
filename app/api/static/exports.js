// Exports: build a new export (a job), follow it, then show the list again.
"use strict";

(() => {
  const form = document.getElementById("create-export");
  const state = document.getElementById("export-state");
  const bar = document.getElementById("export-progress");
  const message = document.getElementById("export-message");

  async function create(event) {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    state.hidden = false;
    const body = {};
    if (form.elements.supersedes.value) body.supersedes = form.elements.supersedes.value;
    try {
      const job = await mk.api("POST", "/v1/exports", body);
      await mk.followJob(job.id, (update) => {
        bar.value = update.progress || 0;
        mk.say(message, mk.stageText(update));
      });
      mk.say(message, "Built: refreshing the list…", "ok");
      window.location.reload();
    } catch (error) {
      mk.say(message, `Not built: ${error.message}`, "error");
      button.disabled = false;
    }
  }

  form.addEventListener("submit", create);
})();
