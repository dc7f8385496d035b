// The DAG page's backfill form: POSTed to the API, whose answer (or refusal) is shown
// above the form; the grid picks the new runs up with its next poll.
import { api, enc } from "./core.js";

const form = document.getElementById("backfill-form");
const failed = document.getElementById("backfill-error");
const done = document.getElementById("backfill-done");

function show(box, text) {
  for (const other of [failed, done]) other.classList.add("hidden");
  box.textContent = text;
  box.classList.remove("hidden");
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    start: form.elements.start.value.trim(),
    end: form.elements.end.value.trim(),
    reprocess: form.elements.reprocess.value,
  };
  if (!body.start || !body.end) { show(failed, "Give both dates: from and to."); return; }
  const text = form.elements.conf.value.trim();
  if (text) {
    try { body.conf = JSON.parse(text); } catch (error) { show(failed, `conf: not valid JSON: ${error.message}`); return; }
  }
  const button = document.getElementById("backfill-submit");
  button.disabled = true;
  try {
    const result = await api(`dags/${enc(form.dataset.dagId)}/backfills`, { method: "POST", body });
    show(done, `Backfill ${result.id}: ${result.created} runs created, ${result.cleared} to run again, ${result.kept} kept.`);
  } catch (error) {
    show(failed, error.message);
  } finally {
    button.disabled = false;
  }
});
