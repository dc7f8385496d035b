// A DAG's page: the pause switch and whichever tab is open (grid, graph, durations),
// all fed by one poll of the grid endpoint.
import {
  api, embedded, enc, h, live, RUN_FINISHED_STATES, toast, TRY_STATES, UNFINISHED_STATES, url,
} from "./core.js";
import { normalizeGrid } from "./griddata.js";
import { renderGrid, restoreSelection } from "./grid.js";
import { renderGraph, colourGraph } from "./graph.js";
import { zoomable } from "./graphview.js";
import { renderDurations } from "./durations.js";
import { liveHeader, wirePause } from "./daghead.js";

const page = embedded("dag-data");
const dagId = page.dag_id;
const params = new URLSearchParams(location.search);

// ---- pause switch ----
wirePause(dagId);
liveHeader(dagId);

// The Gantt tab's run picker is a plain GET form: choosing a run shows it at once.
document.querySelector("select[data-autosubmit]")?.addEventListener("change", (event) => event.target.form.submit());

// ---- tabs ----
const limits = { grid: 25, graph: 25, durations: 60 };
let last = "";
let grid = null;

const state = { selectedRun: params.get("run"), selectedTask: params.get("task") };

// ---- grid: which runs (?runs=, ?before= / ?after= a logical date), the task filter
// (?tasks=) and the folded groups (?folded=) all live in the URL ----
const window_ = page.window ?? {};
const view = {
  filter: params.get("tasks") ?? "",
  folded: new Set((params.get("folded") ?? "").split(",").filter(Boolean)),
  groups: page.task_groups ?? [],
  window: window_,
  // After each drawing: the selection highlighted again and its details current.
  onDrawn: () => restoreSelection(grid, dagId, state),
  onFold: (groupId) => {
    if (view.folded.has(groupId)) view.folded.delete(groupId); else view.folded.add(groupId);
    redrawGrid();
  },
};

/** The page's URL with these query values (null: dropped); the rest kept. */
function pageUrl(changes) {
  const next = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") next.delete(key); else next.set(key, value);
  }
  const query = next.toString();
  return `${location.pathname}${query ? "?" + query : ""}`;
}
state.onSelect = () => history.replaceState(null, "", pageUrl({ run: state.selectedRun, task: state.selectedTask }));

function redrawGrid() {
  if (!grid) return;
  history.replaceState(null, "", pageUrl({ tasks: view.filter, folded: [...view.folded].sort().join(",") }));
  renderGrid(document.getElementById("grid"), grid, dagId, state, view);
}

/** Point the paging links at the pages beside this one. */
function updatePaging(data) {
  const older = document.getElementById("grid-older");
  const newer = document.getElementById("grid-newer");
  const latest = document.getElementById("grid-latest");
  if (!older) return;
  const oldest = data.runs[0];
  const newest = data.runs[data.runs.length - 1];
  const link = (node, enabled, href) => {
    node.setAttribute("aria-disabled", String(!enabled));
    node.classList.toggle("disabled", !enabled);
    node.href = enabled ? href : "#";
  };
  const keep = { run: null, task: null };
  link(older, data.older && oldest, oldest && pageUrl({ ...keep, before: oldest.logical_date, after: null }));
  link(newer, data.newer && newest, newest && pageUrl({ ...keep, after: newest.logical_date, before: null }));
  latest.href = pageUrl({ ...keep, before: null, after: null });
  latest.hidden = !(window_.before || window_.after);
}
for (const id of ["grid-older", "grid-newer"]) {
  document.getElementById(id)?.addEventListener("click", (event) => {
    if (event.currentTarget.getAttribute("aria-disabled") === "true") event.preventDefault();
  });
}
document.getElementById("grid-runs")?.addEventListener("change", (event) => {
  location.assign(pageUrl({ runs: event.target.value }));
});
const filterBox = document.getElementById("grid-filter");
if (filterBox) {
  // Enabled only now (the page serves it disabled): what was typed before would be wiped.
  filterBox.value = view.filter;
  filterBox.disabled = false;
  let typing = null;
  filterBox.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { view.filter = filterBox.value; redrawGrid(); }, 120);
  });
}
document.getElementById("grid-fold-all")?.addEventListener("click", () => {
  view.folded = new Set(view.groups.map((g) => g.group_id));
  redrawGrid();
});
document.getElementById("grid-unfold-all")?.addEventListener("click", () => {
  view.folded.clear();
  redrawGrid();
});

function onGrid(data) {
  grid = normalizeGrid(data, page.tasks);
  if (page.tab === "grid") {
    updatePaging(grid);
    renderGrid(document.getElementById("grid"), grid, dagId, state, view);
  } else if (page.tab === "graph") {
    updateRunPicker(grid);
    colourGraph(document.getElementById("graph"), grid, selectedGraphRun(grid), dagId);
  } else if (page.tab === "durations") {
    showDurations();
  }
}

// ---- durations of one task: from the grid, else from each task instance (cached) ----
const RAN = TRY_STATES; // a try ran: it has a duration
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
  drawGraph(await response.json());
  if (grid) colourGraph(document.getElementById("graph"), grid, selectedGraphRun(grid), dagId);
}

let zoom = null;
function drawGraph(layout) {
  const container = document.getElementById("graph");
  renderGraph(container, layout, dagId, toggleGroup);
  zoom?.release();
  zoom = zoomable(container, layout.width, layout.height);
}

if (page.tab === "graph") {
  const layout = embedded("layout-data");
  if (!layout.error) drawGraph(layout);
  else for (const node of document.querySelectorAll("#graph-tools button")) node.disabled = true;
}
// The Durations tab reads the runs alone, and one task's states once it is picked.
document.getElementById("duration-task")?.addEventListener("change", async () => {
  const data = await api(`dags/${enc(dagId)}/grid?${gridQuery()}`);
  poll(data);
  if (grid) showDurations();
});

let redrawnAt = 0;
// A state that moves on its own (lifecycle.UNFINISHED, but "none": it waits for upstream).
const ACTIVE = new RegExp(`"(${[...UNFINISHED_STATES].filter((s) => s !== "none").join("|")})"`);

function poll(data) {
  const text = JSON.stringify(data);
  // Running tries' durations grow on their own, so redraw anyway when something runs; a
  // big grid (a redraw costs its page a second) only every 15 s for that alone.
  const active = ACTIVE.test(text);
  const cells = (data.runs?.length ?? 0) * (data.task_order?.length ?? 0);
  const due = Date.now() - redrawnAt > (cells > 5000 ? 15000 : 0);
  if (text !== last || (active && due)) { last = text; redrawnAt = Date.now(); onGrid(data); }
}

// The Gantt chart is drawn on the server: while its run is unfinished, ask the API for the
// run's tries and draw the page again when they changed (a try started, ended, retried).
const gantt = document.getElementById("gantt");
if (page.tab === "gantt" && gantt?.dataset.runId && !RUN_FINISHED_STATES.has(gantt.dataset.state)) {
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
  live(async () => poll(await api(`dags/${enc(dagId)}/grid?${gridQuery()}`)), { now: !initial });
}

// The same runs as the first paint: the page's count and, on an older page, its date; on
// the Durations tab, the picked task's states only (none: the runs alone).
function gridQuery() {
  const query = new URLSearchParams({ limit: String(window_.runs ?? limits[page.tab] ?? 25), compact: "true" });
  if (window_.before) query.set("before", window_.before);
  else if (window_.after) query.set("after", window_.after);
  if (page.tab === "durations") query.set("task_id", document.getElementById("duration-task")?.value ?? "");
  return query;
}
