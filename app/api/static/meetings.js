// Meetings: upload with a progress bar, then follow the job and open the meeting.
"use strict";

(() => {
  const form = document.getElementById("upload");
  const state = document.getElementById("upload-state");
  const sent = document.getElementById("upload-progress");
  const work = document.getElementById("job-progress");
  const message = document.getElementById("upload-message");
  const day = document.getElementById("meeting_date");
  const dayHint = document.getElementById("date-hint");
  const names = document.getElementById("speaker_names");
  const hint = dayHint.textContent;
  let dayGiven = false;  // left as pre-filled, the server dates it (the recording's own day)

  function isoDay(when) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
  }

  day.value = isoDay(new Date());
  day.addEventListener("input", () => { dayGiven = true; });
  document.getElementById("recording").addEventListener("change", (event) => {
    const file = event.target.files[0];
    dayHint.textContent = file
      ? `${hint} The chosen file was last changed on ${isoDay(new Date(file.lastModified))}.`
      : hint;
  });

  // "Alice, Bob" names S1 and S2 (diarization numbers speakers as they first speak);
  // "S2=Bob" names one label as it is.
  function addNames(data) {
    const given = names.value.split(",").map((n) => n.trim()).filter(Boolean);
    given.forEach((name, i) => data.append("speaker", name.includes("=") ? name : `S${i + 1}=${name}`));
    if (given.length && !data.get("num_speakers") && given.every((n) => !n.includes("="))) {
      data.set("num_speakers", String(given.length));
    }
  }

  function send(data) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", "/v1/meetings");
      request.responseType = "json";
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) sent.value = event.loaded / event.total;
      };
      request.onload = () => {
        if (request.status === 202) resolve(request.response);
        else {
          const body = request.response;
          reject(new Error((body && body.error && body.error.message) || `upload failed (${request.status})`));
        }
      };
      request.onerror = () => reject(new Error("the upload was cut off"));
      request.send(data);
    });
  }

  async function upload(event) {
    event.preventDefault();
    const data = new FormData(form);
    for (const key of ["title", "num_speakers", "language", "hotwords"]) {
      if (!String(data.get(key) || "").trim()) data.delete(key);
    }
    if (!dayGiven || !day.value) data.delete("meeting_date");
    addNames(data);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    state.hidden = false;
    sent.value = 0;
    work.value = 0;
    mk.say(message, "Uploading…");
    try {
      const accepted = await send(data);
      sent.value = 1;
      mk.say(message, "Uploaded; waiting for a worker…");
      const job = await mk.followJob(accepted.job.id, (update) => {
        work.value = update.progress || 0;
        mk.say(message, mk.stageText(update));
      });
      mk.say(message, "Done: opening the meeting…", "ok");
      window.location.assign(`/meetings/${encodeURIComponent(job.result.meeting_id)}`);
    } catch (error) {
      mk.say(message, `Not done: ${error.message}`, "error");
      button.disabled = false;
    }
  }

  form.addEventListener("submit", upload);
})();
