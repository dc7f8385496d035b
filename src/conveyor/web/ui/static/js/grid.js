// The grid: runs as columns (a bar as tall as the run took), tasks as rows, one coloured
// square per task instance. A click shows the run or the task instance on the right.
import {
  act, api, can, duration, enc, fill, h, links, localTime, stateBadge, stateClass, timeEl,
} from "./core.js";
import { clearTaskInstances, runButtons } from "./actions.js";

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
          history.replaceState(null, "", `?run=${enc(run.run_id)}`);
        },
      })));
}

function cell(run, task, dagId, state) {
  const ti = run.tis[task.task_id];
  if (!ti) return h("td", {}, h("span.cell.absent", { title: `${task.task_id} is not in this run's DAG version` }));
  const mapped = mappedSummary(ti);
  const title = `${task.task_id} · ${ti.state}\n${run.run_id}` + (mapped ? `\n${mapped.text}` : "") +
    (ti.try_number ? `\ntry ${ti.try_number}` : "") + (ti.duration ? ` · ${duration(ti.duration)}` : "");
  return h("td", {}, h(`span.cell.${stateClass(ti.state)}${mapped ? ".mapped" : ""}`, {
    role: "button", tabindex: "0", title,
    "data-run-id": run.run_id, "data-task-id": task.task_id, "data-state": ti.state,
    onclick: (event) => {
      state.selectedRun = run.run_id; state.selectedTask = task.task_id;
      showTaskInstance(run, task, ti, dagId);
      markSelected(event.currentTarget);
      history.replaceState(null, "", `?run=${enc(run.run_id)}&task=${enc(task.task_id)}`);
    },
    onkeydown: (event) => { if (event.key === "Enter") event.currentTarget.click(); },
  }, mapped ? String(mapped.count) : null));
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

export function renderGrid(container, grid, dagId, state) {
  fill("grid-caption", grid.runs.length ? `latest ${grid.runs.length} runs, oldest left` : "");
  if (!grid.runs.length) {
    fill(container, h("div.empty", {}, "No runs yet.", can("op") ? [" ", h("a", { href: links.trigger(dagId) }, "Trigger one"), "."] : null));
    return;
  }
  const longest = Math.max(0, ...grid.runs.map((r) => r.duration ?? 0));
  const table = h("table.grid", { "aria-label": "Runs by tasks" },
    h("thead", {}, h("tr", {},
      h("th.task", { style: "vertical-align: bottom" }, h("span.muted", {}, "Task")),
      grid.runs.map((run) => runBar(run, longest, dagId, state)))),
    h("tbody", {}, grid.tasks.map((task) => h("tr", {},
      h("th.task", { title: task.task_id }, task.task_id,
        task.operator_name ? h("span.op", {}, task.operator_name) : null,
        task.removed ? h("span.op", {}, "(removed)") : null),
      grid.runs.map((run) => cell(run, task, dagId, state))))));
  fill(container, table);
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
