// The trigger form: params to a typed conf, POSTed to the API; a refused param is shown
// under its own field; on success the DAG's grid opens with the new run selected.
import { api, enc, links } from "./core.js";

const form = document.getElementById("trigger-form");
const dagId = form.dataset.dagId;
const banner = document.getElementById("trigger-error");

// Omitted from the conf: an empty date field, so that the param's default applies.
const OMIT = Symbol("omit");

// A date-time param's default is ISO 8601 (UTC or with an offset); its input shows local time.
for (const input of form.querySelectorAll('[data-kind="date-time"]')) {
  const when = input.dataset.default ? new Date(input.dataset.default) : null;
  if (when && !Number.isNaN(when.getTime())) {
    const local = new Date(when.getTime() - when.getTimezoneOffset() * 60000);
    input.value = local.toISOString().slice(0, 19);
  }
}

class FieldError extends Error {
  constructor(name, message) { super(message); this.field = name; }
}

function valueOf(input) {
  const kind = input.dataset.kind;
  const text = input.value;
  if (kind === "boolean") return input.checked;
  if (kind === "enum") return JSON.parse(text);
  if (kind === "date") return text === "" ? OMIT : text;
  if (kind === "date-time") return text === "" ? OMIT : new Date(text).toISOString();
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
  showErrors([[name, message]]);
}

// Each error under the field it names (the first such field takes the focus); the banner
// lists them all, and an error naming no field of the form shows in the banner alone.
function showErrors(errors) {
  let focused = false;
  for (const [name, message] of errors) {
    const box = name ? form.querySelector(`.field[data-param="${CSS.escape(name)}"] .error`) : null;
    if (!box) continue;
    box.textContent = message;
    box.classList.remove("hidden");
    if (!focused) box.closest(".field").querySelector("input, textarea, select")?.focus();
    focused = true;
  }
  banner.textContent = errors.map(([name, message]) => (name ? `${name}: ${message}` : message)).join("; ");
  banner.classList.remove("hidden");
}

// The API lists every refused param: "conf.a: ...; conf.b: ...".
function namedErrors(message) {
  const parts = String(message).split(/;\s*(?=conf\.)/);
  const named = parts.map((part) => /^conf\.([^:]+):\s*([\s\S]*)$/.exec(part.trim()));
  if (named.some((match) => !match)) return null;
  return named.map((match) => [match[1], match[2]]);
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
    for (const input of form.querySelectorAll("[data-kind]")) {
      const value = valueOf(input);
      if (value !== OMIT) body.conf[input.name] = value;
    }
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
    // The API names each param: "conf.limit: param 'limit' expects integer ...".
    const named = namedErrors(error.message);
    if (named) showErrors(named);
    else showError(null, error.message);
    button.disabled = false;
  }
});

// The button waits for the handler above: a click before it would send the form as a page load.
const submit = document.getElementById("trigger-submit");
if (submit.dataset.mayTrigger === "true") submit.disabled = false;
