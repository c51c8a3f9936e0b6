// A meeting: a citation scrolls to its transcript moment, highlights it and seeks the
// recording there; speakers are renamed in place.
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

  document.querySelectorAll("a.cite").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const id = link.getAttribute("href").slice(1);
      history.replaceState(null, "", `#${id}`);
      show(id, parseFloat(link.dataset.start));
    });
  });
  if (location.hash) show(decodeURIComponent(location.hash.slice(1)));

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
})();
