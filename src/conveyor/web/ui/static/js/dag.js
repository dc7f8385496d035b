// A DAG's page: the pause switch and whichever tab is open (grid, graph, durations),
// all fed by one poll of the grid endpoint.
import { act, api, embedded, enc, h, live, toast, url } from "./core.js";
import { normalizeGrid } from "./griddata.js";
import { renderGrid, restoreSelection } from "./grid.js";
import { renderGraph, colourGraph } from "./graph.js";
import { renderDurations } from "./durations.js";
import { liveHeader } from "./daghead.js";

const page = embedded("dag-data");
const dagId = page.dag_id;
const params = new URLSearchParams(location.search);

// ---- pause switch ----
const pause = document.getElementById("pause-switch");
pause?.addEventListener("change", async () => {
  const paused = !pause.checked;
  const done = await act(pause, () =>
    api(`dags/${enc(dagId)}`, { method: "PATCH", body: { is_paused: paused } }),
    `${dagId} ${paused ? "paused" : "unpaused"}`);
  if (done === undefined) pause.checked = paused;
  else document.getElementById("pause-label").textContent = paused ? "paused" : "active";
});

liveHeader(dagId);

// The Gantt tab's run picker is a plain GET form: choosing a run shows it at once.
document.querySelector("select[data-autosubmit]")?.addEventListener("change", (event) => event.target.form.submit());

// ---- tabs ----
const limits = { grid: 25, graph: 25, durations: 60 };
let last = "";
let grid = null;

const state = { selectedRun: params.get("run"), selectedTask: params.get("task") };

function onGrid(data) {
  grid = normalizeGrid(data, page.tasks);
  if (page.tab === "grid") {
    renderGrid(document.getElementById("grid"), grid, dagId, state);
    restoreSelection(grid, dagId, state);
  } else if (page.tab === "graph") {
    updateRunPicker(grid);
    colourGraph(document.getElementById("graph"), grid, selectedGraphRun(grid), dagId);
  } else if (page.tab === "durations") {
    showDurations();
  }
}

// ---- durations of one task: from the grid, else from each task instance (cached) ----
const RAN = new Set(["success", "failed", "running", "up_for_retry"]);
const knownDurations = new Map(); // "run|task" -> seconds, for task instances that ended

async function fillTaskDurations(data, taskId) {
  await Promise.all(data.runs.map(async (run) => {
    const ti = run.tis[taskId];
    if (!ti || ti.duration !== null || !RAN.has(ti.state)) return;
    const key = `${run.run_id}|${taskId}`;
    if (!knownDurations.has(key)) {
      const detail = await api(`dags/${enc(dagId)}/runs/${enc(run.run_id)}/tasks/${enc(taskId)}`);
      if (detail.end_date) knownDurations.set(key, detail.duration);
      ti.duration = detail.duration;
    } else {
      ti.duration = knownDurations.get(key);
    }
  }));
}

async function showDurations() {
  const taskId = document.getElementById("duration-task").value;
  if (taskId) await fillTaskDurations(grid, taskId);
  renderDurations(document.getElementById("durations"), grid, dagId, taskId);
}

// ---- graph: which run's states to show ----
const picker = document.getElementById("graph-run");
function selectedGraphRun(data) {
  const wanted = picker?.value || state.selectedRun;
  return data.runs.find((r) => r.run_id === wanted) ?? data.runs[data.runs.length - 1] ?? null;
}
function updateRunPicker(data) {
  if (!picker) return;
  const current = picker.value || state.selectedRun || "";
  const options = [...data.runs].reverse().map((run) =>
    h("option", { value: run.run_id, selected: run.run_id === current }, `${run.run_id} · ${run.state}`));
  const signature = options.map((o) => o.textContent).join("|");
  if (picker.dataset.signature === signature) return;
  picker.dataset.signature = signature;
  picker.replaceChildren(...(options.length ? options : [h("option", { value: "" }, "no runs yet")]));
}
picker?.addEventListener("change", () => {
  if (grid) colourGraph(document.getElementById("graph"), grid, selectedGraphRun(grid), dagId);
});

// ---- graph: task groups start collapsed; a click opens or shuts one, and the server lays
// out that view (layout.py), so the drawing stays a clean left-to-right graph ----
const collapsed = new Set(page.groups ?? []);
async function toggleGroup(groupId, collapse) {
  if (collapse) collapsed.add(groupId); else collapsed.delete(groupId);
  const query = enc([...collapsed].sort().join(","));
  const response = await fetch(url(`dags/${enc(dagId)}/graph/layout?collapsed=${query}`),
    { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) { toast(`could not lay out the graph (${response.status})`, { error: true }); return; }
  const container = document.getElementById("graph");
  renderGraph(container, await response.json(), dagId, toggleGroup);
  if (grid) colourGraph(container, grid, selectedGraphRun(grid), dagId);
}

if (page.tab === "graph") {
  const layout = embedded("layout-data");
  if (!layout.error) renderGraph(document.getElementById("graph"), layout, dagId, toggleGroup);
}
document.getElementById("duration-task")?.addEventListener("change", () => {
  if (grid) showDurations();
});

function poll(data) {
  const text = JSON.stringify(data);
  // Running tries' durations grow on their own, so redraw anyway when something runs.
  const active = /"(running|queued|scheduled|up_for_retry|deferred)"/.test(text);
  if (text !== last || active) { last = text; onGrid(data); }
}

// The Gantt chart is drawn on the server: while its run is unfinished, ask the API for the
// run's tries and draw the page again when they changed (a try started, ended, retried).
const gantt = document.getElementById("gantt");
if (page.tab === "gantt" && gantt?.dataset.runId && !["success", "failed"].includes(gantt.dataset.state)) {
  const drawn = JSON.stringify(embedded("gantt-data"));
  live(async () => {
    const data = await api(`dags/${enc(dagId)}/runs/${enc(gantt.dataset.runId)}/gantt`);
    if (JSON.stringify(data) !== drawn) { location.reload(); return false; }
    return true;
  }, { interval: 2000, now: false });
}

if (page.tab in limits) {  // the timeline tabs are drawn on the server
  const initial = embedded("initial-grid");
  if (initial) poll(initial);
  live(async () => poll(await api(`dags/${enc(dagId)}/grid?limit=${limits[page.tab] ?? 25}`)),
    { now: !initial });
}
