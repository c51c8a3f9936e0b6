// Compose: draft from a thread, edit the draft, report what was actually sent.
"use strict";

(() => {
  const form = document.getElementById("compose");
  const message = document.getElementById("compose-message");
  const area = document.getElementById("draft-area");
  const draft = document.getElementById("draft");
  const notes = document.getElementById("draft-notes");
  const sentForm = document.getElementById("sent");
  const sentMessage = document.getElementById("sent-message");
  let draftId = null;

  // "Name: text" per line; a line without a name continues the message above it.
  function parseThread(text) {
    const messages = [];
    text.split("\n").forEach((raw, index) => {
      const line = raw.trim();
      if (!line) return;
      const match = line.match(/^([^:]{1,200}):\s*(.*)$/);
      if (match) messages.push({ author: match[1].trim(), text: match[2] });
      else if (messages.length) messages[messages.length - 1].text += `\n${line}`;
      else throw new Error(`thread line ${index + 1} needs the form "Name: text"`);
    });
    return messages;
  }

  // How loudly the headline is said: a draft that failed a check is never shown as done.
  const KIND = { passed: "ok", failed: "warning", from_items: "note" };

  function showNotes(result) {
    notes.replaceChildren();
    const lines = [`Written by ${result.written_by}.`, ...result.notes];
    lines.forEach((line) => {
      const item = document.createElement("li");
      item.textContent = line;
      notes.append(item);
    });
  }

  async function compose(event) {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    mk.say(message, "Drafting… (the language model can take a while)");
    try {
      const body = {
        thread: parseThread(form.elements.thread.value),
        instruction: form.elements.instruction.value,
        mode: form.elements.mode.value,
        tone: form.elements.tone.value,
        length: form.elements.length.value,
      };
      if (form.elements.meeting.value) body.meeting_id = form.elements.meeting.value;
      const result = await mk.api("POST", "/v1/compose", body);
      draftId = result.id;
      draft.value = result.text;
      showNotes(result);
      area.hidden = false;
      mk.say(sentMessage, "");
      mk.say(message, result.headline, KIND[result.verdict]);
      area.classList.toggle("failed", result.verdict === "failed");
      draft.focus();
    } catch (error) {
      mk.say(message, `No draft: ${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  async function reportSent(event) {
    event.preventDefault();
    if (!draftId) return;
    const body = { sent_text: draft.value };
    const rating = sentForm.elements.rating.value;
    if (rating) body.rating = Number(rating);
    try {
      await mk.api("POST", `/v1/compose/${encodeURIComponent(draftId)}/feedback`, body);
      mk.say(sentMessage, "Thanks: recorded what you sent.", "ok");
    } catch (error) {
      mk.say(sentMessage, `Not recorded: ${error.message}`, "error");
    }
  }

  form.addEventListener("submit", compose);
  sentForm.addEventListener("submit", reportSent);
})();
