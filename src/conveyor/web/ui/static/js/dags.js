// The DAG list: every DAG with its schedule, recent runs, next run and pause switch;
// import errors on top. Updated in place every poll.
import {
  act, api, can, embedded, enc, fill, h, links, listOf, live, localTime, relative, stateBadge, stateClass,
  timeEl,
} from "./core.js";

const rows = document.getElementById("dag-rows");
const filterInput = document.getElementById("dag-filter");
let lastDags = [];
let lastErrors = [];

function matches(dag, needle) {
  if (!needle) return true;
  const hay = [dag.dag_id, dag.description, dag.owner, ...(dag.tags ?? [])].join(" ").toLowerCase();
  return needle.toLowerCase().split(/\s+/).every((word) => hay.includes(word));
}

function recentRuns(dag) {
  // Oldest left, newest right, like the grid.
  const recent = [...(dag.recent_runs ?? [])].reverse();
  if (!recent.length) return h("span.faint", {}, "no runs yet");
  return h("span.recent", {}, recent.map((run) =>
    h(`a.sq.${stateClass(run.state)}`, {
      href: links.run(dag.dag_id, run.run_id),
      title: `${run.run_id}\n${run.state} · ${localTime(run.logical_date)}`,
      "data-state": run.state,
    })));
}

function pauseSwitch(dag) {
  const input = h("input", {
    type: "checkbox", checked: !dag.is_paused, disabled: !can("op"),
    "aria-label": `${dag.is_paused ? "Unpause" : "Pause"} ${dag.dag_id}`,
    onchange: async (event) => {
      const paused = !event.target.checked;
      const done = await act(event.target, () =>
        api(`dags/${enc(dag.dag_id)}`, { method: "PATCH", body: { is_paused: paused } }),
        `${dag.dag_id} ${paused ? "paused" : "unpaused"}`);
      if (done === undefined) event.target.checked = !paused;
      dag.is_paused = paused;
      event.target.closest("tr")?.classList.toggle("paused", paused);
    },
  });
  return h("label.switch", { title: can("op") ? "On: scheduled. Off: paused." : "Only an op or admin can pause" },
    input, h("span.slider"));
}

function row(dag) {
  const last = dag.recent_runs?.[0];
  return h(`tr${dag.is_paused ? ".paused" : ""}`, { "data-dag-id": dag.dag_id },
    h("td", {}, pauseSwitch(dag)),
    h("td", {},
      h("div.dag-id", {}, h("a", { href: links.dag(dag.dag_id) }, dag.dag_id)),
      dag.description ? h("div.muted", { style: "font-size: .85rem" }, dag.description) : null,
      (dag.tags ?? []).length ? h("div", {}, dag.tags.map((t) => h("span.tag", {}, t))) : null),
    h("td.mono", {}, dag.schedule && dag.schedule !== "None" ? dag.schedule : h("span.faint", {}, "manual only")),
    h("td", {}, dag.owner ?? ""),
    h("td", {}, recentRuns(dag)),
    h("td.nowrap", {}, last
      ? [stateBadge(last.state), " ", h("span.muted", { title: `logical date ${last.logical_date}` }, localTime(last.logical_date, { seconds: false }))]
      : h("span.faint", {}, "—")),
    h("td.nowrap", {}, dag.is_paused ? h("span.faint", {}, "paused") : timeEl(dag.next_run_after)),
    h("td.right", {}, can("op")
      ? h("a.button", { href: links.trigger(dag.dag_id), title: `Trigger ${dag.dag_id} with params`, "data-action": "trigger" }, "▶ Trigger")
      : null),
  );
}

function render() {
  const needle = filterInput.value.trim();
  const shown = lastDags.filter((dag) => matches(dag, needle));
  if (!lastDags.length) {
    fill(rows, h("tr", {}, h("td.empty", { colspan: 8 },
      "No DAGs yet. Put a DAG file in the DAG folder; the scheduler picks it up within seconds.")));
  } else if (!shown.length) {
    fill(rows, h("tr", {}, h("td.empty", { colspan: 8 }, `No DAG matches “${needle}”.`)));
  } else {
    fill(rows, shown.map(row));
  }
  const paused = lastDags.filter((d) => d.is_paused).length;
  const failing = lastDags.filter((d) => d.recent_runs?.[0]?.state === "failed").length;
  fill("dag-summary", `${lastDags.length} DAGs · ${paused} paused · `,
    failing ? h("span", { style: "color: var(--st-failed)" }, `${failing} failing`) : "none failing");
}

function renderErrors() {
  const box = document.getElementById("import-errors");
  box.classList.toggle("hidden", !lastErrors.length);
  fill("import-errors-title", `${lastErrors.length} DAG file${lastErrors.length === 1 ? "" : "s"} failed to load`);
  fill("import-errors-list", lastErrors.map((error) => {
    const where = `${error.file ?? error.fileloc}${error.line ? `:${error.line}` : ""}`;
    return h("div.import-error", {},
      h("span.where", {}, where), " ", h("span.faint", {}, error.created_at ? relative(error.created_at) : ""),
      h("pre", {}, error.message),
      error.traceback ? h("details", {}, h("summary.muted", {}, "Traceback"), h("pre", {}, error.traceback)) : null);
  }));
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function apply(dags, errors) {
  const newDags = listOf(dags, "dags");
  const newErrors = listOf(errors, "import_errors");
  // Re-render only what changed, so a click on a switch is not lost to a redraw.
  if (!same(newDags, lastDags) || !lastDags.length) { lastDags = newDags; render(); }
  if (!same(newErrors, lastErrors)) { lastErrors = newErrors; renderErrors(); }
}

const initial = embedded("initial-data");
if (initial) apply(initial.dags, initial.errors);
live(async () => {
  const [dags, errors] = await Promise.all([api("dags"), api("import-errors")]);
  apply(dags, errors);
}, { interval: 2000, now: !initial });

filterInput.addEventListener("input", render);
