// My words: each request's items answered "that's me" / "not me", sent in one call.
"use strict";

(() => {
  document.querySelectorAll("form.attribution").forEach((form) => {
    const message = form.querySelector(".message");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answers = {};
      form.querySelectorAll("li[data-item]").forEach((li) => {
        const chosen = li.querySelector("input:checked");
        if (chosen) answers[li.dataset.item] = chosen.value;
      });
      const button = form.querySelector("button");
      button.disabled = true;
      mk.say(message, "Recording…");
      try {
        const answered = await mk.api("POST", `/v1/attributions/${encodeURIComponent(form.dataset.request)}/answer`, { answers });
        const words = answered.status === "confirmed" ? "Recorded: these words are yours." : "Recorded: not all of these words are yours, so none of them count as yours.";
        mk.say(message, words, "ok");
        form.querySelectorAll("input").forEach((input) => { input.disabled = true; });
      } catch (error) {
        mk.say(message, `Not recorded: ${error.message}`, "error");
        button.disabled = false;
      }
    });
  });
})();
