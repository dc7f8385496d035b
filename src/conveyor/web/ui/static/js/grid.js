// The grid: runs as columns (a bar as tall as the run took), tasks as rows under their task
// groups (a folded group is one row), one coloured square per task instance. A click shows
// the run or the task instance on the right.
import {
  act, api, canEdit, duration, enc, fill, FINISHED_STATES, h, links, localTime, RUN_FINISHED_STATES,
  runTypeMark, stateBadge, stateClass, timeEl,
} from "./core.js";
import { clearTaskInstances, markTaskInstances, runButtons, tiRef } from "./actions.js";
import { groupState } from "./graph.js";

const selectedCells = () => document.querySelectorAll("#grid .selected");

function runBar(run, longest, dagId, state) {
  const height = longest > 0 && run.duration ? Math.max(4, Math.round((run.duration / longest) * 60)) : 4;
  return h("th.run", {},
    h("div.run-bar-box", {},
      h(`a.run-bar.${stateClass(run.state)}${run.deadline_missed ? ".deadline-missed" : ""}`, {
        href: links.run(dagId, run.run_id),
        style: `height: ${height}px`,
        title: `${run.run_id}\n${run.state} · ${localTime(run.logical_date)}${run.duration ? " · " + duration(run.duration) : ""}${run.deadline_missed ? "\ndeadline missed" : ""}`,
        "data-run-id": run.run_id, "data-state": run.state,
        onclick: (event) => {
          event.preventDefault();
          state.selectedRun = run.run_id; state.selectedTask = null;
          showRun(run, dagId);
          markSelected(event.currentTarget);
          state.onSelect?.();
        },
      })),
    runTypeMark(run.run_type));
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

const indentRem = (depth) => 0.2 + depth * 1.1;
const indent = (depth) => `padding-left: ${indentRem(depth).toFixed(1)}rem`;

/** The body's rows for `view.filter` (text in a task id) and `view.folded` (group ids): for
 * each, its opening (the <tr> and its label), its cells (written when asked for) and, to size
 * the task column without laying it out, its label's parts. */
function gridRows(tree, runs, view, dagId) {
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
        out.push({
          taskId: task.task_id, indent: indentRem(child.depth), label: task.label ?? task.task_id,
          op: [task.operator_name, task.removed ? "(removed)" : ""].filter(Boolean).join(" "),
          head: `<tr data-task-row="${id}"><th class="task" style="${indent(child.depth)}" title="${id}">` +
            taskLink(runs, task.task_id, id, dagId) + (task.operator_name ? `<span class="op">${esc(task.operator_name)}</span>` : "") +
            (task.removed ? '<span class="op">(removed)</span>' : "") + "</th>",
          cells: () => runs.map((run) => cellHtml(run, task.task_id, id)).join(""),
        });
        continue;
      }
      if (needle && !child.members.some(matches)) continue;
      // While a filter is on, a group holding a match stays open to show it.
      const folded = !needle && view.folded.has(child.id);
      out.push({
        taskId: null, indent: indentRem(child.depth), label: `▾ ${child.label}`, op: `group · ${child.members.length}`,
        head: `<tr class="group-row" data-group-row="${esc(child.id)}" data-folded="${folded}"><th class="task group" style="${indent(child.depth)}" title="${esc(child.id)}">` +
          `<button type="button" class="fold" data-group-id="${esc(child.id)}" aria-expanded="${!folded}" ` +
          `aria-label="${folded ? "unfold" : "fold"} group ${esc(child.id)}">${folded ? "▸" : "▾"}</button> ${esc(child.label)}` +
          `<span class="op">group · ${child.members.length}</span></th>`,
        cells: () => runs.map((run) => groupCellHtml(run, child)).join(""),
      });
      if (!folded) walk(child);
    }
  };
  walk(tree);
  return { rows: out, shown };
}

/** A task's name opens its task page, as in Airflow: of the newest run shown that has the
 * task (a click on it while a run is selected opens that run's: onGridClick). */
function taskLink(runs, taskId, escapedTask, dagId) {
  const newest = [...runs].reverse().find((run) => run.tis[taskId]);
  if (!newest) return escapedTask;
  return `<a class="task-link" href="${esc(links.task(dagId, newest.run_id, taskId))}" ` +
    `data-task-id="${escapedTask}">${escapedTask}</a>`;
}

// A big grid (more squares than BIG_GRID) has in its table only the rows in the window and a
// window's height above and below it, between two empty rows as tall as the rows they stand
// for, so the page is as tall as with every row drawn and the scroll bar is true. Scrolling
// draws the rows coming near and drops those left far behind: a table lays out all of its
// cells and labels on every change, so 1,000 rows of 50 squares cost the page a second or
// more where a hundred rows cost tens of milliseconds.
const BIG_GRID = 5000;
const GUESSED_PITCH = 22; // px from one row's top to the next's, until the drawn rows tell
const GUESSED_TOP = 250; // px from the window's top to the first row's, on a page just opened

/** The rows [from, to) within `margin` px of the window, the body's top being at `top` (px,
 * the viewport's coordinates). */
function wantedRows(top, pitch, count, margin = window.innerHeight) {
  const from = Math.max(0, Math.floor((-margin - top) / pitch));
  const to = Math.min(count, Math.ceil((window.innerHeight + margin - top) / pitch));
  return [Math.min(from, to), to];
}

const rowsHtml = (rows, from, to) =>
  rows.slice(from, to).map((row) => `${row.head}${row.cells()}</tr>`).join("");

/** Set the empty rows above and below the drawn ones to the height of the rows they stand for. */
function sizeSpacers(lazy) {
  const spacing = 3; // table.grid's border-spacing: an empty row has it too
  for (const [node, count] of [[lazy.above, lazy.from], [lazy.below, lazy.rows.length - lazy.to]]) {
    node.hidden = count === 0;
    node.firstElementChild.style.height = `${Math.max(0, count * lazy.pitch - spacing)}px`;
  }
}

function markSelectedIn(lazy) {
  const { selectedRun, selectedTask } = lazy.state;
  if (!selectedTask || !selectedRun) return;
  lazy.body.querySelector(`tr[data-task-row="${CSS.escape(selectedTask)}"] .cell[data-run-id="${CSS.escape(selectedRun)}"]`)
    ?.classList.add("selected");
}

/** Draw the rows near the window and drop those far from it. */
function fillNear(container) {
  const lazy = container.lazyRows;
  if (!lazy || !lazy.body.isConnected) return;
  const drawn = lazy.to - lazy.from;
  if (!lazy.measured && drawn > 0) {
    // The rows' real pitch (fonts and zoom decide it), from the drawn rows' span.
    const span = lazy.below.getBoundingClientRect().top - lazy.above.nextElementSibling.getBoundingClientRect().top;
    if (span > 0) { lazy.pitch = span / drawn; container.rowPitch = lazy.pitch; }
    lazy.measured = true;
    sizeSpacers(lazy);
  }
  const top = lazy.body.getBoundingClientRect().top;
  // Nothing to do while the drawn rows reach half a window beyond it; then a window again.
  const near = wantedRows(top, lazy.pitch, lazy.rows.length, window.innerHeight / 2);
  if (near[0] >= lazy.from && near[1] <= lazy.to) return;
  const [from, to] = wantedRows(top, lazy.pitch, lazy.rows.length);
  if (from >= lazy.to || to <= lazy.from) {
    while (lazy.above.nextElementSibling !== lazy.below) lazy.above.nextElementSibling.remove();
    lazy.above.insertAdjacentHTML("afterend", rowsHtml(lazy.rows, from, to));
  } else {
    for (let i = lazy.from; i < from; i += 1) lazy.above.nextElementSibling.remove();
    for (let i = to; i < lazy.to; i += 1) lazy.below.previousElementSibling.remove();
    if (from < lazy.from) lazy.above.insertAdjacentHTML("afterend", rowsHtml(lazy.rows, from, lazy.from));
    if (to > lazy.to) lazy.below.insertAdjacentHTML("beforebegin", rowsHtml(lazy.rows, lazy.to, to));
  }
  lazy.from = from;
  lazy.to = to;
  sizeSpacers(lazy);
  markSelectedIn(lazy);
}

function followScrolling(container) {
  let queued = false;
  const later = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fillNear(container); });
  };
  // Scroll events do not bubble: caught on the way down, whichever box scrolls.
  document.addEventListener("scroll", later, { capture: true, passive: true });
  window.addEventListener("resize", () => {
    if (container.lazyRows) container.lazyRows.measured = false;
    later();
  });
}

/** The task column as wide as its widest label (up to th.task's max-width), measured on a
 * canvas rather than laid out: the rows not drawn must not change it when they come. */
function taskColumnWidth(rows, head) {
  const style = getComputedStyle(head);
  const context = document.createElement("canvas").getContext("2d");
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
  const width = (text, font) => { context.font = font; return context.measureText(text).width; };
  const label = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const small = `400 ${0.75 * rem}px ${style.fontFamily}`;
  let widest = 0; // a row's label with its indent (the row's left padding)
  for (const row of rows) {
    widest = Math.max(widest, row.indent * rem + width(row.label, label) + (row.op ? 0.3 * rem + width(row.op, small) : 0));
  }
  const right = parseFloat(style.paddingRight);
  const box = style.boxSizing === "border-box" ? widest + right : widest - parseFloat(style.paddingLeft);
  return Math.min(parseFloat(style.maxWidth) || Infinity, Math.ceil(box) + 1);
}

/** A big grid's body: the rows near the window, as the last drawing left it scrolled. */
function drawNear(container, table, body, rows, runs, state) {
  const previous = container.lazyRows;
  const pitch = container.rowPitch ?? GUESSED_PITCH;
  // Where the body will be: where the last drawing's was, else below the grid's top and its
  // bars; on the page's first drawing, a guess (asking would lay out the page first).
  const top = previous?.body.isConnected ? previous.body.getBoundingClientRect().top
    : container.querySelector("table") ? container.getBoundingClientRect().top + 70 : GUESSED_TOP;
  const [from, to] = wantedRows(top, pitch, rows.length);
  const spacer = `<tr class="spacer" aria-hidden="true"><td colspan="${runs + 1}"></td></tr>`;
  body.innerHTML = spacer + rowsHtml(rows, from, to) + spacer;
  const lazy = {
    rows, body, from, to, pitch, state, measured: container.rowPitch !== undefined,
    above: body.firstElementChild, below: body.lastElementChild,
  };
  sizeSpacers(lazy);
  fill(container, table);
  table.querySelector("thead th.task").style.minWidth = `${taskColumnWidth(rows, table.querySelector("thead th.task"))}px`;
  container.lazyRows = lazy;
  markSelectedIn(lazy);
  // After the first paint: measure the rows and draw what the guess left out.
  requestAnimationFrame(() => setTimeout(() => fillNear(container), 0));
  if (!container.dataset.scrolling) { container.dataset.scrolling = "1"; followScrolling(container); }
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
    container.lazyRows = null;
    container.dataset.drawn = "all";
    fill(container, h("div.empty", {}, paged ? "No runs on this page." : "No runs yet.",
      !paged && canEdit(dagId) ? [" ", h("a", { href: links.trigger(dagId) }, "Trigger one"), "."] : null));
    return;
  }
  const longest = Math.max(0, ...grid.runs.map((r) => r.duration ?? 0));
  for (const run of grid.runs) run.escapedId = esc(run.run_id);
  const { rows, shown } = gridRows(gridTree(grid.tasks, view.groups), grid.runs, view, dagId);
  const lazy = rows.length * grid.runs.length > BIG_GRID;
  const body = h("tbody");
  const table = h("table.grid", { "aria-label": "Runs by tasks" },
    h("thead", {}, h("tr", {},
      h("th.task", { style: "vertical-align: bottom" }, h("span.muted", {}, "Task")),
      grid.runs.map((run) => runBar(run, longest, dagId, state)))),
    body);
  fill("grid-shown", view.filter ? `${shown} of ${grid.tasks.length} tasks match` : "");
  if (lazy) {
    drawNear(container, table, body, rows, grid.runs.length, state);
  } else {
    container.lazyRows = null;
    body.innerHTML = rowsHtml(rows, 0, rows.length) ||
      `<tr><td class="muted" colspan="${grid.runs.length + 1}">No task matches “${esc(view.filter)}”.</td></tr>`;
    fill(container, table);
  }
  container.dataset.drawn = lazy ? "near" : "all";
  if (!container.dataset.shownAt) {
    // When the first rows reach the screen (the frame after they were written): what
    // bench/ui_scale.py reads as the grid's time to show.
    requestAnimationFrame(() => { container.dataset.shownAt = performance.now().toFixed(0); });
  }
  view.onDrawn?.();
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
  const name = event.target.closest("a.task-link");
  if (name) {
    // The selected run's instance of the task, when it has one; else the link's (newest).
    const selected = container.gridData.runs.find((r) => r.run_id === state.selectedRun);
    if (selected?.tis[name.dataset.taskId] && !(event.ctrlKey || event.metaKey || event.shiftKey)) {
      event.preventDefault();
      location.assign(links.task(dagId, selected.run_id, name.dataset.taskId));
    }
    return;
  }
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
      run.run_type ? ["Type", runTypeMark(run.run_type, { label: true })] : null,
      ["Logical date", timeEl(run.logical_date)],
      ["Started", timeEl(run.start_date)],
      ["Ended", run.end_date ? timeEl(run.end_date) : h("span.faint", {}, "—")],
      ["Duration", duration(run.duration) || "—"],
      ["Tasks", h("span", {}, Object.entries(counts).map(([s, n]) => [stateBadge(s), ` ${n} `]))],
    ]),
    more,
    h("p", {}, h("a", { href: links.dag(dagId, "graph") + `?run=${enc(run.run_id)}` }, "Show in graph ›"), " ",
      h("a", { href: links.dag(dagId, "gantt") + `?run=${enc(run.run_id)}`, "data-action": "open-gantt" }, "Gantt ›")),
    canEdit(dagId) ? runButtons(dagId, run.run_id, undefined, run.state) : null,
    canEdit(dagId) ? runActions(dagId, run) : null);
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
      detail.partition_key ? ["Partition", h("span.mono", { id: "run-partition" }, detail.partition_key)] : null,
      ...(detail.deadlines ?? []).map((d) => ["Deadline", deadlineFact(d)]),
      detail.user_note ? ["Note", h("span", { id: "run-panel-note", style: "white-space: pre-wrap" }, detail.user_note)] : null,
      detail.note ? ["Why", h("span.muted", { id: "run-reason" }, detail.note)] : null,
    ]));
  });
}

// A run's deadline alert: when it falls, what became of it (met, missed or still pending),
// and a missed one's callback when it failed.
const DEADLINE_LOOK = { met: "st-success", missed: "st-failed", pending: "st-none" };

function deadlineFact(d) {
  return h("span.run-deadline", { "data-deadline": d.state }, [
    timeEl(d.deadline_at), " ",
    h(`span.state.${DEADLINE_LOOK[d.state] ?? "st-none"}`, {}, d.state),
    h("span.faint", {}, ` ${d.name ?? d.reference}`),
    d.callback_state === "failed" ? h("span.muted", { title: d.callback_error ?? "" }, " · callback failed") : null,
  ]);
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
    canEdit(dagId) ? taskActions(dagId, run.run_id, task.task_id, ti.state) : null);
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
        h("a", { href: links.mapped(dagId, run.run_id, task.task_id, i.map_index), title: `map_index ${i.map_index}: ${i.state}, try ${i.try_number}` }, [stateBadge(i.state), ` ${i.rendered_map_index ?? i.map_index} `])))] : null,
    ]));
  });
}

/** The delete button of a run (for op and admin); only a finished run can be deleted. */
function runActions(dagId, run) {
  const finished = RUN_FINISHED_STATES.has(run.state);
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

/** Clear and mark buttons (for op and admin; a viewer is not offered them). Each opens a
 * dialog with Airflow's options and a preview of exactly what changes; nothing changes
 * before Confirm. mapIndex: one instance of a mapped task; null: the task, all instances. */
export function taskActions(dagId, runId, taskId, tiState, after, mapIndex = null) {
  const refs = [tiRef(dagId, runId, taskId, mapIndex)];
  const label = `${taskId}${mapIndex !== null && mapIndex >= 0 ? ` [${mapIndex}]` : ""}`;
  const done = () => after?.();
  const button = (text, action, onclick, cls = "", title = "") =>
    h(`button${cls}`, { type: "button", "data-action": action, title: title || null, onclick }, text);
  const finished = FINISHED_STATES.has(tiState);
  // A queued or running try: Stop marks it failed, which stops its process (SIGTERM, the
  // operator's on_kill, SIGKILL after the grace), as Airflow's mark failed does.
  const stop = ["running", "queued"].includes(tiState) ? button("Stop", "stop", () => markTaskInstances(refs, "failed", done, {
    title: `Stop ${label} in ${runId}: mark it failed, stopping its process (no retry)`, confirmLabel: "Stop", options: [],
  }), ".danger", "Mark it failed and stop its process: SIGTERM, the operator's on_kill, SIGKILL after the grace period") : null;
  return h("div.ti-action-groups", {},
    h("div.actions.clear-actions", {},
      stop,
      button(finished ? "Retry…" : "Clear…", "clear", () => clearTaskInstances(refs, done, {
        title: `${finished ? "Retry" : "Clear"} ${label} in ${runId}`, confirmLabel: finished ? "Retry" : "Clear",
      }), "", "Clear it so it runs again; see what changes first"),
      button("Clear with options…", "clear-options", () => clearTaskInstances(refs, done),
        "", "Clear with past, future, upstream, downstream, only failed or only running; see what changes first"),
      button("Clear with downstream…", "clear-downstream", () => clearTaskInstances(refs, done, { preset: { downstream: true } }))),
    // Marks sit in their own row, apart from Retry: a mark ends the task without running it.
    h("div.actions.mark-actions", { role: "group", "aria-label": "Mark" },
      h("span.muted.mark-label", {}, "Mark:"),
      tiState !== "success" ? button("Success…", "mark-success", () => markTaskInstances(refs, "success", done)) : null,
      tiState !== "failed" ? button("Failed…", "mark-failed", () => markTaskInstances(refs, "failed", done), ".danger") : null));
}
