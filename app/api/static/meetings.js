// Meetings: upload with a progress bar, then follow the job and open the meeting.
"use strict";

(() => {
  const form = document.getElementById("upload");
  const state = document.getElementById("upload-state");
  const sent = document.getElementById("upload-progress");
  const work = document.getElementById("job-progress");
  const message = document.getElementById("upload-message");

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
    if (!data.get("title")) data.delete("title");
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
