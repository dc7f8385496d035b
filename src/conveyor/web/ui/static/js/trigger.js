// The trigger form: params to a typed conf, POSTed to the API; a refused param is shown
// under its own field; on success the DAG's grid opens with the new run selected.
import { api, enc, links } from "./core.js";

const form = document.getElementById("trigger-form");
const dagId = form.dataset.dagId;
const banner = document.getElementById("trigger-error");

class FieldError extends Error {
  constructor(name, message) { super(message); this.field = name; }
}

function valueOf(input) {
  const kind = input.dataset.kind;
  const text = input.value;
  if (kind === "boolean") return input.checked;
  if (kind === "integer" || kind === "number") {
    if (text.trim() === "") throw new FieldError(input.name, "a number is needed");
    const number = Number(text);
    if (!Number.isFinite(number) || (kind === "integer" && !Number.isInteger(number))) {
      throw new FieldError(input.name, kind === "integer" ? "a whole number is needed" : "a number is needed");
    }
    return number;
  }
  if (kind === "json") {
    try { return JSON.parse(text); } catch (error) { throw new FieldError(input.name, `not valid JSON: ${error.message}`); }
  }
  return text;
}

function showError(name, message) {
  const box = name ? form.querySelector(`.field[data-param="${CSS.escape(name)}"] .error`) : null;
  if (box) { box.textContent = message; box.classList.remove("hidden"); box.closest(".field").querySelector("input, textarea")?.focus(); }
  banner.textContent = name ? `${name}: ${message}` : message;
  banner.classList.remove("hidden");
}

function clearErrors() {
  banner.classList.add("hidden");
  for (const box of form.querySelectorAll(".field .error")) box.classList.add("hidden");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const button = document.getElementById("trigger-submit");
  const body = { conf: {} };
  try {
    for (const input of form.querySelectorAll("[data-kind]")) body.conf[input.name] = valueOf(input);
  } catch (error) {
    showError(error.field, error.message);
    return;
  }
  const runId = form.elements.__run_id.value.trim();
  if (runId) body.run_id = runId;
  const local = form.elements.__logical_date.value;
  if (local) body.logical_date = new Date(local).toISOString();
  button.disabled = true;
  try {
    const run = await api(`dags/${enc(dagId)}/runs`, { method: "POST", body });
    location.href = links.run(dagId, run.run_id);
  } catch (error) {
    // The API names the param: "conf.limit: param 'limit' expects integer ...".
    const named = /conf\.([^:]+):\s*(.*)/.exec(error.message);
    if (named) showError(named[1], named[2]);
    else showError(null, error.message);
    button.disabled = false;
  }
});
