// A meeting: a citation scrolls to its transcript moment, highlights it and seeks the
// recording there; a question is answered with citations that do the same; speakers are
// renamed in place; the action items are copied as text; the meeting is deleted once the
// visitor confirms it.
"use strict";

(() => {
  const player = document.getElementById("player");
  const renameMessage = document.getElementById("rename-message");

  function seek(seconds) {
    if (!player || !Number.isFinite(seconds)) return;
    const go = () => { player.currentTime = seconds; };
    if (player.readyState >= 1) go();
    else player.addEventListener("loadedmetadata", go, { once: true });
  }

  // Highlight the segment, bring it into view and play from `at` (a cited sentence's
  // moment inside the segment), or from the segment's start.
  function show(segmentId, at) {
    const segment = segmentId && document.getElementById(segmentId);
    if (!segment || !segment.classList.contains("segment")) return;
    document.querySelectorAll(".segment.is-cited").forEach((s) => s.classList.remove("is-cited"));
    segment.classList.add("is-cited");
    segment.scrollIntoView({ block: "center" });
    seek(Number.isFinite(at) ? at : parseFloat(segment.dataset.start));
  }

  // One listener for every citation, the summary's and those of answers added later.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.cite");
    if (!link) return;
    event.preventDefault();
    const id = link.getAttribute("href").slice(1);
    history.replaceState(null, "", `#${id}`);
    show(id, parseFloat(link.dataset.start));
  });
  if (location.hash) show(decodeURIComponent(location.hash.slice(1)));

  const askForm = document.getElementById("ask-form");
  const askMessage = document.getElementById("ask-message");
  const answer = document.getElementById("answer");

  function citation(c) {
    const link = document.createElement("a");
    link.className = "cite";
    link.href = `#${c.segment_id}`;
    link.dataset.start = String(c.start);
    link.setAttribute("aria-label", `said at ${c.at}`);
    link.textContent = `[${c.at}]`;
    return link;
  }

  // The answer with a link to each moment it cites; "not discussed" said as plainly.
  function showAnswer(result) {
    const text = answer.querySelector(".answer-text");
    text.replaceChildren(result.answer, ...result.citations.map(citation));
    answer.classList.toggle("not-discussed", !result.found);
    const notes = answer.querySelector(".answer-notes");
    notes.replaceChildren(...result.notes.map((note) => {
      const item = document.createElement("li");
      item.textContent = `Note: ${note}`;
      return item;
    }));
    answer.hidden = false;
  }

  async function ask(event) {
    event.preventDefault();
    const button = askForm.querySelector("button[type=submit]");
    button.disabled = true;
    answer.hidden = true;
    mk.say(askMessage, "Looking through the meeting…");
    try {
      const url = `/v1/meetings/${encodeURIComponent(askForm.dataset.meeting)}/ask`;
      const result = await mk.api("POST", url, { question: askForm.elements.question.value });
      mk.say(askMessage, "");
      showAnswer(result);
    } catch (error) {
      mk.say(askMessage, `No answer: ${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  if (askForm) askForm.addEventListener("submit", ask);

  async function rename(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const name = form.elements.name.value.trim();
    const names = {};
    names[form.dataset.speaker] = name;
    try {
      await mk.api("PATCH", `/v1/meetings/${encodeURIComponent(form.dataset.meeting)}/speakers`, { names });
      mk.say(renameMessage, "Renamed; refreshing…", "ok");
      window.location.reload();
    } catch (error) {
      mk.say(renameMessage, `Not renamed: ${error.message}`, "error");
    }
  }

  document.querySelectorAll("form.rename").forEach((form) => form.addEventListener("submit", rename));

  const copyButton = document.getElementById("copy-actions");
  const copyMessage = document.getElementById("copy-message");
  const copyFallback = document.getElementById("copy-fallback");

  // The clipboard needs a secure context (https, or localhost) and the browser's leave;
  // where either is missing, the text is shown selected for the visitor to copy.
  async function copyActions() {
    const text = copyFallback.value;
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      copyFallback.hidden = true;
      mk.say(copyMessage, "Copied", "ok");
    } catch (_) {
      copyFallback.hidden = false;
      copyFallback.focus();
      copyFallback.select();
      mk.say(copyMessage, "The browser did not let this page copy: the text is selected " +
        "below, copy it with Ctrl+C (⌘C).", "warning");
    }
  }

  if (copyButton) copyButton.addEventListener("click", copyActions);

  const deleteButton = document.getElementById("delete-meeting");
  const deleteMessage = document.getElementById("delete-message");

  async function deleteMeeting() {
    const question = `Delete “${deleteButton.dataset.title}” and everything kept of it? ` +
      "This cannot be undone.";
    if (!window.confirm(question)) return;
    deleteButton.disabled = true;
    mk.say(deleteMessage, "Deleting…");
    try {
      await mk.api("DELETE", `/v1/meetings/${encodeURIComponent(deleteButton.dataset.meeting)}`);
      window.location.assign("/meetings");
    } catch (error) {
      mk.say(deleteMessage, `Not deleted: ${error.message}`, "error");
      deleteButton.disabled = false;
    }
  }

  if (deleteButton) deleteButton.addEventListener("click", deleteMeeting);
})();
