// Admin: a switch saves when toggled; a notice version is published from the form.
"use strict";

(() => {
  const switchMessage = document.getElementById("switch-message");
  const publishForm = document.getElementById("publish");
  const publishMessage = document.getElementById("publish-message");
  const current = document.getElementById("current-notice");

  // Turning a switch off can revoke what was published: the server says how much, and
  // the admin confirms before it happens.
  async function save(body) {
    try {
      return await mk.api("PATCH", "/v1/admin/tenant", body);
    } catch (error) {
      if (error.code !== "confirmation_required" || !window.confirm(`${error.message}.`)) throw error;
      return mk.api("PATCH", "/v1/admin/tenant", { ...body, confirm: true });
    }
  }

  async function toggle(box) {
    const body = {};
    body[box.dataset.field] = box.checked;
    box.disabled = true;
    try {
      const tenant = await save(body);
      box.checked = tenant[box.dataset.field];
      const label = document.querySelector(`label[for="${box.id}"]`).textContent;
      mk.say(switchMessage, `${label}: ${box.checked ? "on" : "off"} (saved).`, "ok");
    } catch (error) {
      box.checked = !box.checked;
      mk.say(switchMessage, `Not saved: ${error.message}`, "error");
    } finally {
      box.disabled = false;
    }
  }

  async function publish(event) {
    event.preventDefault();
    const body = {
      title: publishForm.elements.title.value,
      body: publishForm.elements.body.value,
      material_change: publishForm.elements.material_change.checked,
    };
    try {
      const result = await mk.api("POST", "/v1/admin/notices", body);
      const notice = result.notice;
      current.textContent = `Current: version ${notice.version}, “${notice.title}”.`;
      mk.say(publishMessage, result.created
        ? `Published version ${notice.version}.`
        : `Nothing new: version ${notice.version} has the same content.`, "ok");
    } catch (error) {
      mk.say(publishMessage, `Not published: ${error.message}`, "error");
    }
  }

  document.querySelectorAll("input.switch").forEach((box) => {
    box.addEventListener("change", () => toggle(box));
  });
  publishForm.addEventListener("submit", publish);
})();
