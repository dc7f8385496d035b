// The Required actions page: each form answers its task through the API
// (PATCH /api/v2/.../hitlDetails), then says who answered what, or why it was refused.

import { enc, toast, url } from "./core.js";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

function paramValue(input) {
  if (input.dataset.kind === "boolean") return input.checked;
  if (input.dataset.kind === "integer") return input.value === "" ? null : parseInt(input.value, 10);
  if (input.dataset.kind === "number") return input.value === "" ? null : Number(input.value);
  return input.value;
}

async function answer(section, form) {
  const { dagId, runId, taskId, mapIndex } = section.dataset;
  const chosen = [...form.querySelectorAll('input[name="option"]:checked')].map((i) => i.value);
  const params = {};
  for (const input of form.querySelectorAll('input[name="param"]')) {
    params[input.dataset.name] = paramValue(input);
  }
  const path = `api/v2/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}/${enc(mapIndex)}/hitlDetails`;
  const response = await fetch(url(path), {
    method: "PATCH",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify({ chosen_options: chosen, params_input: params }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail ?? response.statusText);
    throw new Error(detail);
  }
  return data;
}

for (const section of document.querySelectorAll(".required-action")) {
  const form = section.querySelector("form");
  const result = form.querySelector(".hitl-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const done = await answer(section, form);
      result.textContent = `Answered ${done.chosen_options.join(", ")} as ${done.responded_by.name}`;
      section.classList.add("answered");
      for (const input of form.querySelectorAll("input")) input.disabled = true;
      button.remove();
    } catch (error) {
      result.textContent = error.message;
      toast(error.message, { error: true, ms: 6000 });
      button.disabled = false;
    }
  });
}
