// Shared by every page: call the /v1 API with the session cookie, show a message, and
// follow a background job's server-sent events. No framework, nothing from elsewhere.
"use strict";

const mk = (() => {
  // The API's error envelope is {"error": {"code", "message"}}: show its message, and
  // keep its code for pages that answer a particular refusal.
  function errorOf(data, status) {
    const error = new Error((data && data.error && data.error.message) || `the server answered ${status}`);
    error.code = data && data.error && data.error.code;
    error.status = status;
    return error;
  }

  async function api(method, url, body) {
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!response.ok) throw errorOf(data, response.status);
    return data;
  }

  // kind: "ok", "error", "warning" (done, but read this first), "note", or none.
  function say(element, text, kind) {
    element.textContent = text;
    ["error", "ok", "warning", "note"].forEach((k) => element.classList.toggle(k, kind === k));
  }

  // Resolves with the finished job when it succeeds; rejects with its error message.
  function followJob(jobId, onUpdate) {
    return new Promise((resolve, reject) => {
      const source = new EventSource(`/v1/jobs/${encodeURIComponent(jobId)}/events`);
      const read = (event) => JSON.parse(event.data);
      source.addEventListener("progress", (event) => onUpdate(read(event)));
      source.addEventListener("succeeded", (event) => {
        source.close();
        const job = read(event);
        onUpdate(job);
        resolve(job);
      });
      source.addEventListener("failed", (event) => {
        source.close();
        const job = read(event);
        reject(new Error((job.error && job.error.message) || "the job failed"));
      });
      source.addEventListener("timeout", () => {
        source.close();
        reject(new Error("it is still running: reload this page later"));
      });
      source.onerror = () => {
        // The browser reconnects by itself unless the server refused the stream.
        if (source.readyState === EventSource.CLOSED) {
          reject(new Error("lost track of the job: reload this page"));
        }
      };
    });
  }

  // A job's stage in words (the API's `stage` values), with the share of the stage done
  // where the stage measures it: "Transcribing 47 %".
  const STAGES = {
    queued: "Waiting for a worker…",
    requeued: "Waiting for a worker again…",
    starting: "Starting…",
    preparing_models: "Preparing models…",
    transcribing: "Transcribing",
    diarizing: "Finding speakers…",
    summarizing: "Summarizing…",
    offering: "Checking consent for training…",
    deciding: "Deciding again what may be kept…",
    writing: "Writing the records…",
    done: "Done",
    failed: "Failed",
  };

  function stageText(job) {
    const words = STAGES[job.stage] || (job.stage || job.status || "").replace(/_/g, " ");
    if (job.stage_progress === null || job.stage_progress === undefined) return words;
    return `${words} ${Math.round(job.stage_progress * 100)} %`;
  }

  return { api, say, followJob, stageText };
})();
