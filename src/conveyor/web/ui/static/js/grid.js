// The grid: runs as columns (a bar as tall as the run took), tasks as rows under their task
// groups (a folded group is one row), one coloured square per task instance. A click shows
// the run or the task instance on the right.
import {
  act, api, can, duration, enc, fill, h, links, localTime, stateBadge, stateClass, timeEl,
} from "./core.js";
import { clearTaskInstances, runButtons } from "./actions.js";
import { groupState } from "./graph.js";

const selectedCells = () => document.querySelectorAll("#grid .selected");

function runBar(run, longest, dagId, state) {
  const height = longest > 0 && run.duration ? Math.max(4, Math.round((run.duration / longest) * 60)) : 4;
  return h("th.run", {},
    h("div.run-bar-box", {},
      h(`a.run-bar.${stateClass(run.state)}`, {
        href: links.run(dagId, run.run_id),
        style: `height: ${height}px`,
        title: `${run.run_id}\n${run.state} · ${localTime(run.logical_date)}${run.duration ? " · " + duration(run.duration) : ""}`,
        "data-run-id": run.run_id, "data-state": run.state,
        onclick: (event) => {
          event.preventDefault();
          state.selectedRun = run.run_id; state.selectedTask = null;
          showRun(run, dagId);
          markSelected(event.currentTarget);
          state.onSelect?.();
        },
      })));
}

// Cells are written as one HTML string (a 1,000-task grid has tens of thousands of them),
// each a bare <td> (half the elements of a box inside a cell), and answer clicks through
// one listener on the grid rather than one each.
const esc = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// A cell's tooltip is written when the pointer first reaches it (cellTitle), not up front.
function cellHtml(run, taskId, escapedTask) {
  const ti = run.tis[taskId];
  if (!ti) return `<td class="cell absent" title="${escapedTask} is not in this run's DAG version"></td>`;
  const mapped = ti.mapped ? mappedSummary(ti) : null;
  return `<td class="cell ${stateClass(ti.state)}${mapped ? " mapped" : ""}" role="button" tabindex="0" ` +
    `data-run-id="${run.escapedId}" data-task-id="${escapedTask}" data-state="${ti.state}">` +
    `${mapped ? mapped.count : ""}</td>`;
}

function groupCellHtml(run, group) {
  const state = groupState(group.members.map((id) => run.tis[id]?.state ?? "none"));
  return `<td class="cell group-cell ${stateClass(state)}" ` +
    `data-run-id="${run.escapedId}" data-group-id="${esc(group.id)}" data-state="${state}"></td>`;
}

function cellTitle(node, grid) {
  const run = grid.runs.find((r) => r.run_id === node.dataset.runId);
  if (!run) return "";
  if (node.dataset.groupId) return `${node.dataset.groupId} · ${node.dataset.state}\n${run.run_id}`;
  const taskId = node.dataset.taskId;
  const ti = run.tis[taskId];
  if (!ti) return "";
  const mapped = mappedSummary(ti);
  return `${taskId} · ${ti.state}\n${run.run_id}` + (mapped ? `\n${mapped.text}` : "") +
    (ti.try_number ? `\ntry ${ti.try_number}` : "") + (ti.duration ? ` · ${duration(ti.duration)}` : "");
}

/** A mapped task's cell: how many instances, and how many in each state. */
function mappedSummary(ti) {
  if (!ti.mapped) return null;
  const entries = Object.entries(ti.mapped);
  const count = entries.reduce((sum, [, n]) => sum + n, 0);
  return { count, text: `${count} mapped instances: ` + entries.map(([s, n]) => `${n} ${s}`).join(", ") };
}

function markSelected(node) {
  for (const other of selectedCells()) other.classList.remove("selected");
  node?.classList.add("selected");
}

/** The rows: tasks in the DAG's order under their task groups (a group's row stands where
 * its first task would), with every group's tasks listed for its folded row. */
export function gridTree(tasks, groups) {
  const parentOf = new Map();
  for (const g of groups ?? []) for (const member of [...g.tasks, ...g.groups]) parentOf.set(member, g.group_id);
  const labels = new Map((groups ?? []).map((g) => [g.group_id, g.label]));
  const root = { children: [], depth: -1 };
  const nodes = new Map();
  for (const task of tasks) {
    const chain = [];
    for (let g = parentOf.get(task.task_id); g !== undefined; g = parentOf.get(g)) chain.unshift(g);
    let at = root;
    for (const groupId of chain) {
      let node = nodes.get(groupId);
      if (!node) {
        node = { id: groupId, label: labels.get(groupId) ?? groupId, children: [], members: [], depth: at.depth + 1 };
        nodes.set(groupId, node);
        at.children.push(node);
      }
      node.members.push(task.task_id);
      at = node;
    }
    at.children.push({ task, depth: chain.length });
  }
  return root;
}

const indent = (depth) => `padding-left: ${(0.2 + depth * 1.1).toFixed(1)}rem`;

/** The body's rows for `view.filter` (text in a task id) and `view.folded` (group ids). */
function rowsHtml(tree, runs, view) {
  const needle = (view.filter ?? "").trim().toLowerCase();
  const matches = (taskId) => !needle || taskId.toLowerCase().includes(needle);
  const out = [];
  let shown = 0;
  const walk = (node) => {
    for (const child of node.children) {
      if (child.task) {
        const task = child.task;
        if (!matches(task.task_id)) continue;
        shown += 1;
        const id = esc(task.task_id);
        out.push(`<tr data-task-row="${id}"><th class="task" style="${indent(child.depth)}" title="${id}">` +
          id + (task.operator_name ? `<span class="op">${esc(task.operator_name)}</span>` : "") +
          (task.removed ? '<span class="op">(removed)</span>' : "") + `</th>${runs.map((run) => cellHtml(run, task.task_id, id)).join("")}</tr>`);
        continue;
      }
      if (needle && !child.members.some(matches)) continue;
      // While a filter is on, a group holding a match stays open to show it.
      const folded = !needle && view.folded.has(child.id);
      out.push(`<tr class="group-row" data-group-row="${esc(child.id)}" data-folded="${folded}"><th class="task group" style="${indent(child.depth)}" title="${esc(child.id)}">` +
        `<button type="button" class="fold" data-group-id="${esc(child.id)}" aria-expanded="${!folded}" ` +
        `aria-label="${folded ? "unfold" : "fold"} group ${esc(child.id)}">${folded ? "▸" : "▾"}</button> ${esc(child.label)}` +
        `<span class="op">group · ${child.members.length}</span></th>${runs.map((run) => groupCellHtml(run, child)).join("")}</tr>`);
      if (!folded) walk(child);
    }
  };
  walk(tree);
  return { rows: out, shown };
}

// A big grid shows its first rows (a screenful) at once and the rest after that first paint,
// so a 1,000-task grid is on screen before it is all laid out. The rest goes in one piece:
// a table lays out all of its rows again on each insert, so slices would cost more.
const FIRST_ROWS = 60;
const MORE_ROWS = 100_000;
let drawing = 0; // the newest drawing; an older one still filling in stops

function drawRest(container, body, rows, view) {
  const token = ++drawing;
  const done = () => { container.dataset.drawn = "all"; view.onDrawn?.(); };
  if (rows.length <= FIRST_ROWS) { done(); return; }
  container.dataset.drawn = "part";
  let next = FIRST_ROWS;
  const more = () => {
    if (token !== drawing) return;
    body.insertAdjacentHTML("beforeend", rows.slice(next, next + MORE_ROWS).join(""));
    next += MORE_ROWS;
    if (next < rows.length) setTimeout(more, 0); else done();
  };
  requestAnimationFrame(() => setTimeout(more, 0));
}

/** Draw the grid. `view`: { filter, folded: Set, groups, window, onFold(groupId) }. */
export function renderGrid(container, grid, dagId, state, view) {
  const paged = view.window?.before || view.window?.after;
  const span = grid.runs.length && paged
    ? `, ${localTime(grid.runs[0].logical_date, { seconds: false })} to ${localTime(grid.runs[grid.runs.length - 1].logical_date, { seconds: false })}`
    : "";
  fill("grid-caption", grid.runs.length ? `${paged ? "" : "latest "}${grid.runs.length} runs${span}, oldest left` : "");
  container.gridData = grid;
  if (!grid.runs.length) {
    drawing += 1;
    container.dataset.drawn = "all";
    fill(container, h("div.empty", {}, paged ? "No runs on this page." : "No runs yet.",
      !paged && can("op") ? [" ", h("a", { href: links.trigger(dagId) }, "Trigger one"), "."] : null));
    return;
  }
  const longest = Math.max(0, ...grid.runs.map((r) => r.duration ?? 0));
  for (const run of grid.runs) run.escapedId = esc(run.run_id);
  const { rows, shown } = rowsHtml(gridTree(grid.tasks, view.groups), grid.runs, view);
  const body = h("tbody");
  body.innerHTML = rows.slice(0, FIRST_ROWS).join("") ||
    `<tr><td class="muted" colspan="${grid.runs.length + 1}">No task matches “${esc(view.filter)}”.</td></tr>`;
  fill("grid-shown", view.filter ? `${shown} of ${grid.tasks.length} tasks match` : "");
  fill(container, h("table.grid", { "aria-label": "Runs by tasks" },
    h("thead", {}, h("tr", {},
      h("th.task", { style: "vertical-align: bottom" }, h("span.muted", {}, "Task")),
      grid.runs.map((run) => runBar(run, longest, dagId, state)))),
    body));
  if (!container.dataset.shownAt) {
    // When the first rows reach the screen (the frame after they were written): what
    // bench/ui_scale.py reads as the grid's time to show.
    requestAnimationFrame(() => { container.dataset.shownAt = performance.now().toFixed(0); });
  }
  drawRest(container, body, rows, view);
  if (!container.dataset.listening) {
    container.dataset.listening = "1";
    container.addEventListener("click", (event) => onGridClick(event, container, dagId, state, view));
    container.addEventListener("mouseover", (event) => {
      const cell = event.target.closest?.(".cell[data-run-id]");
      if (cell && !cell.title) cell.title = cellTitle(cell, container.gridData);
    });
    container.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target.matches?.(".cell[data-task-id]")) event.target.click();
    });
  }
}

function onGridClick(event, container, dagId, state, view) {
  const fold = event.target.closest("button.fold");
  if (fold) { view.onFold(fold.dataset.groupId); return; }
  const node = event.target.closest(".cell[data-task-id]");
  if (!node) return;
  const grid = container.gridData;
  const run = grid.runs.find((r) => r.run_id === node.dataset.runId);
  const task = grid.tasks.find((t) => t.task_id === node.dataset.taskId);
  const ti = run?.tis[node.dataset.taskId];
  if (!run || !task || !ti) return;
  state.selectedRun = run.run_id; state.selectedTask = task.task_id;
  showTaskInstance(run, task, ti, dagId);
  markSelected(node);
  state.onSelect?.();
}

/** After a redraw: keep the selection highlighted and its details current. */
export function restoreSelection(grid, dagId, state) {
  if (!state.selectedRun) return;
  const run = grid.runs.find((r) => r.run_id === state.selectedRun);
  if (!run) return;
  const esc = (v) => CSS.escape(v);
  if (state.selectedTask) {
    const task = grid.tasks.find((t) => t.task_id === state.selectedTask);
    const ti = run.tis[state.selectedTask];
    if (task && ti) {
      markSelected(document.querySelector(`#grid .cell[data-run-id="${esc(run.run_id)}"][data-task-id="${esc(task.task_id)}"]`));
      showTaskInstance(run, task, ti, dagId);
    }
  } else {
    markSelected(document.querySelector(`#grid a.run-bar[data-run-id="${esc(run.run_id)}"]`));
    showRun(run, dagId);
  }
}

const facts = (pairs) => h("dl", {}, pairs.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

// Details beyond the grid's states come from the API, once per run (or task) and state.
const extras = new Map();
function withExtra(key, path, render) {
  const known = extras.get(key);
  if (known) { render(known); return; }
  api(path).then((data) => {
    extras.set(key, data);
    if (extras.size > 200) extras.delete(extras.keys().next().value);
    render(data);
  }).catch(() => {});
}

function showRun(run, dagId) {
  const counts = {};
  for (const ti of Object.values(run.tis)) counts[ti.state] = (counts[ti.state] ?? 0) + 1;
  fill("details-title", "Run");
  const more = h("div");
  fill("details-body",
    facts([
      ["Run", h("span.mono", {}, run.run_id)],
      ["State", stateBadge(run.state)],
      run.run_type ? ["Type", run.run_type] : null,
      ["Logical date", timeEl(run.logical_date)],
      ["Started", timeEl(run.start_date)],
      ["Ended", run.end_date ? timeEl(run.end_date) : h("span.faint", {}, "—")],
      ["Duration", duration(run.duration) || "—"],
      ["Tasks", h("span", {}, Object.entries(counts).map(([s, n]) => [stateBadge(s), ` ${n} `]))],
    ]),
    more,
    h("p", {}, h("a", { href: links.dag(dagId, "graph") + `?run=${enc(run.run_id)}` }, "Show in graph ›"), " ",
      h("a", { href: links.dag(dagId, "gantt") + `?run=${enc(run.run_id)}`, "data-action": "open-gantt" }, "Gantt ›")),
    can("op") ? runButtons(dagId, run.run_id) : null,
    can("op") ? runActions(dagId, run) : null);
  withExtra(`run:${run.run_id}:${run.state}`, `dags/${enc(dagId)}/runs/${enc(run.run_id)}`, (detail) => {
    fill(more, facts([
      detail.created_by ? ["Triggered by", detail.created_by] : null,
      detail.version_hash ? ["Version", h("span", {}, [
        h("a.mono", { href: links.version(dagId, detail.version_hash), id: "run-version" }, detail.version_hash.slice(0, 12)),
        " · ",
        h("a", { href: links.runCode(dagId, run.run_id), id: "run-code" }, "code as of this run"),
      ])] : null,
      ["Conf", Object.keys(detail.conf ?? {}).length
        ? h("pre.mono", { style: "margin: 0; white-space: pre-wrap" }, JSON.stringify(detail.conf, null, 2))
        : h("span.faint", {}, "{}")],
      detail.note ? ["Note", detail.note] : null,
    ]));
  });
}

function showTaskInstance(run, task, ti, dagId) {
  fill("details-title", "Task instance");
  const more = h("div");
  fill("details-body",
    facts([
      ["Task", h("span.mono", {}, task.task_id)],
      ["Run", h("span.mono", {}, run.run_id)],
      ["State", stateBadge(ti.state)],
    ]),
    more,
    h("p", {}, h("a.button", { href: links.task(dagId, run.run_id, task.task_id), "data-action": "open-task" }, "Open task instance ›")),
    can("op") ? taskActions(dagId, run.run_id, task.task_id, ti.state) : null);
  const path = `dags/${enc(dagId)}/runs/${enc(run.run_id)}/tasks/${enc(task.task_id)}`;
  withExtra(`ti:${run.run_id}:${task.task_id}:${ti.state}`, path, (detail) => {
    const last = detail.tries[detail.tries.length - 1];
    fill(more, facts([
      detail.try_number ? ["Try", `${detail.try_number} of ${detail.max_tries}`] : null,
      detail.start_date ? ["Started", timeEl(detail.start_date)] : null,
      detail.end_date ? ["Ended", timeEl(detail.end_date)] : null,
      detail.duration !== null ? ["Duration", duration(detail.duration)] : null,
      ["Queue", detail.queue],
      detail.hostname ? ["Host", `${detail.hostname}${detail.pid ? " · pid " + detail.pid : ""}`] : null,
      last?.error ? ["Error", h("pre.mono", { style: "margin: 0; white-space: pre-wrap; color: #8d1f1f" }, last.error.trim().split("\n").slice(-1)[0])] : null,
      detail.waiting_for?.length ? ["Waiting for", detail.waiting_for.join("; ")] : null,
      detail.instances?.length ? ["Instances", h("span", {}, detail.instances.map((i) =>
        h("a", { href: links.mapped(dagId, run.run_id, task.task_id, i.map_index), title: `map_index ${i.map_index}: ${i.state}, try ${i.try_number}` }, [stateBadge(i.state), ` ${i.map_index} `])))] : null,
    ]));
  });
}

/** The delete button of a run (for op and admin); only a finished run can be deleted. */
function runActions(dagId, run) {
  const finished = ["success", "failed"].includes(run.state);
  return h("div.actions", {},
    h("button.danger", {
      type: "button", "data-action": "delete-run", disabled: !finished,
      title: finished ? "Delete the run with its task instances, tries, XComs and logs"
        : "Only a finished run can be deleted: mark its tasks failed, or wait for it to end",
      onclick: (event) => act(event.currentTarget, async () => {
        if (!confirm(`Delete run ${run.run_id} with its task instances, tries, XComs and logs? This cannot be undone.`)) return undefined;
        const result = await api(`dags/${enc(dagId)}/runs/${enc(run.run_id)}`, { method: "DELETE" });
        history.replaceState(null, "", links.dag(dagId));
        fill("details-title", "Details");
        fill("details-body", h("p.muted", { id: "run-deleted" }, `Run ${run.run_id} was deleted.`));
        return result;
      }, `run ${run.run_id} deleted`),
    }, "Delete run"));
}

/** Clear and mark buttons (for op and admin; a viewer is not offered them). */
export function taskActions(dagId, runId, taskId, tiState, after, mapIndex = null) {
  // mapIndex: one instance of a mapped task (its own routes); null: the task, all instances.
  const path = `dags/${enc(dagId)}/runs/${enc(runId)}/tasks/${enc(taskId)}${mapIndex === null ? "" : `/mapped/${mapIndex}`}`;
  const run = (label, sub, body, done, cls = "") => h(`button${cls}`, {
    type: "button", "data-action": sub + (body.state ? "-" + body.state : body.downstream ? "-downstream" : ""),
    onclick: (event) => act(event.currentTarget, async () => {
      if (sub === "clear" && !confirm(`Clear ${taskId}${body.downstream ? " and everything downstream" : ""} in ${runId}? It will run again.`)) return undefined;
      const result = await api(`${path}/${sub}`, { method: "POST", body });
      after?.();
      return result;
    }, done),
  }, label);
  const finished = ["success", "failed", "skipped", "upstream_failed"].includes(tiState);
  const withOptions = h("button", {
    type: "button", "data-action": "clear-options", title: "Clear with upstream, downstream, past, future or only failed; see what changes first",
    onclick: () => clearTaskInstances([{ dag_id: dagId, run_id: runId, task_id: taskId }], () => after?.()),
  }, "Clear…");
  return h("div.actions", {},
    run(finished ? "Retry" : "Clear", "clear", { downstream: false, only_failed: false }, `${taskId} cleared: it will run again`),
    withOptions,
    run("Clear with downstream", "clear", { downstream: true, only_failed: false }, `${taskId} and downstream cleared`),
    tiState !== "success" ? run("Mark success", "mark", { state: "success" }, `${taskId} marked success`) : null,
    tiState !== "failed" ? run("Mark failed", "mark", { state: "failed" }, `${taskId} marked failed`, ".danger") : null);
}
