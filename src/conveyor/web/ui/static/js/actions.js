// Actions on runs and task instances, one or many: a dialog previews exactly what will change
// (the API's dry_run makes the same calls and rolls them back), then Confirm does it.
import { api, fill, h, stateBadge, toast } from "./core.js";

// Airflow's options on a clear or a mark, each a checkbox in the dialog.
const OPTIONS = [
  ["past", "Past", "also these task instances in the DAG's earlier runs"],
  ["future", "Future", "also these task instances in the DAG's later runs"],
  ["upstream", "Upstream", "also the tasks upstream of these, in the same run"],
  ["downstream", "Downstream", "also the tasks downstream of these, in the same run"],
  ["only_failed", "Only failed", "only failed and upstream failed ones"],
  ["only_running", "Only running", "only running ones"],
];
const CLEAR_OPTIONS = OPTIONS.map(([name]) => name);
const MARK_OPTIONS = ["past", "future", "upstream", "downstream"];

/** A reference to task instances for the bulk API: one instance of a mapped task when
 * mapIndex is given (>= 0), else the task with all its instances. */
export function tiRef(dagId, runId, taskId, mapIndex = null) {
  const ref = { dag_id: dagId, run_id: runId, task_id: taskId };
  if (mapIndex !== null && mapIndex !== undefined && mapIndex >= 0) ref.map_index = mapIndex;
  return ref;
}

const describe = (refs) => refs.length === 1
  ? `${refs[0].task_id}${refs[0].map_index >= 0 ? ` [${refs[0].map_index}]` : ""} in ${refs[0].run_id}`
  : `${refs.length} task instances`;

let openDialog = null;

function changeRows(changes, showDag) {
  return changes.map((c) => h("tr", { "data-change": "", "data-dag-id": c.dag_id, "data-run-id": c.run_id, "data-task-id": c.task_id, "data-map-index": c.map_index },
    showDag ? h("td.mono", {}, c.dag_id) : null,
    h("td.mono", {}, c.run_id),
    h("td.mono", {}, c.task_id + (c.map_index >= 0 ? ` [${c.map_index}]` : "")),
    h("td.nowrap", {}, stateBadge(c.before), " → ", stateBadge(c.after),
      // A finished instance cleared (a clear, or the tasks below a task marked success).
      c.after === "none" && c.before !== "none" ? h("span.muted", { "data-runs-again": "" }, " runs again") : null)));
}

function renderPreview(box, result) {
  const dags = new Set(result.changed.map((c) => c.dag_id));
  const showDag = dags.size > 1;
  const runs = new Set(result.changed.map((c) => `${c.dag_id}|${c.run_id}`));
  const movedRuns = result.runs.filter((r) => r.before !== r.after);
  const head = h("tr", {}, showDag ? h("th", {}, "DAG") : null, h("th", {}, "Run"), h("th", {}, "Task"), h("th", {}, "State"));
  fill(box,
    h("p", { id: "action-summary" }, result.changed.length
      ? `${result.changed.length} task instance${result.changed.length === 1 ? "" : "s"} in ${runs.size} run${runs.size === 1 ? "" : "s"} will change:`
      : "Nothing would change."),
    result.changed.length ? h("div.preview-scroll", {}, h("table.data", {}, h("thead", {}, head), h("tbody", {}, changeRows(result.changed, showDag)))) : null,
    result.stopped.length ? [
      h("p.muted", {}, `Stopped (queued or running now; a running try's process gets SIGTERM, its on_kill runs): ${result.stopped.length}`),
      h("div.preview-scroll", {}, h("table.data", { id: "action-stopped" }, h("tbody", {}, changeRows(result.stopped, showDag)))),
    ] : null,
    movedRuns.length ? h("p.muted", { id: "action-runs" }, "Runs: ", movedRuns.map((r) =>
      h("span.nowrap", {}, `${r.run_id} `, stateBadge(r.before), " → ", stateBadge(r.after), " "))) : null);
  return result.changed.length > 0;
}

/**
 * Preview an action, then do it when the user confirms.
 * path: the API route; body: its body without dry_run; options: the names of boolean options
 * (from CLEAR_OPTIONS) offered as checkboxes; done(result): called after it is done.
 */
export function confirmAction({ title, path, body, options = [], preset = {}, confirmLabel = "Confirm", confirmClass = ".primary", done }) {
  openDialog?.close();
  const chosen = { ...preset };
  const preview = h("div.preview", { id: "action-preview" }, h("span.muted", {}, "Working out what would change…"));
  const confirm = h(`button${confirmClass}`, { type: "button", "data-action": "confirm", disabled: true }, confirmLabel);
  const cancel = h("button", { type: "button", "data-action": "cancel" }, "Cancel");
  let asked = 0;
  const refresh = async () => {
    const mine = ++asked;
    confirm.disabled = true;
    try {
      const result = await api(path, { method: "POST", body: { ...body, ...chosen, dry_run: true } });
      if (mine !== asked) return;
      confirm.disabled = !renderPreview(preview, result);
    } catch (error) {
      if (mine === asked) fill(preview, h("p.error", {}, error.message));
    }
  };
  const boxes = OPTIONS.filter(([name]) => options.includes(name)).map(([name, label, hint]) =>
    h("label.option", { title: hint },
      h("input", { type: "checkbox", name, checked: Boolean(chosen[name]), onchange: (event) => { chosen[name] = event.target.checked; refresh(); } }),
      ` ${label}`));
  const dialog = h("dialog.action-dialog", { id: "action-dialog", "aria-label": title },
    h("h3", {}, title),
    boxes.length ? h("div.options", { id: "action-options" }, boxes) : null,
    preview,
    h("div.actions.dialog-buttons", {}, cancel, confirm));
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { dialog.remove(); if (openDialog === dialog) openDialog = null; });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    try {
      const result = await api(path, { method: "POST", body: { ...body, ...chosen } });
      const n = result.changed.length;
      toast(`${n} task instance${n === 1 ? "" : "s"} changed`);
      dialog.close();
      done?.(result);
    } catch (error) {
      fill(preview, h("p.error", {}, error.message));
    }
  });
  document.body.append(dialog);
  openDialog = dialog;
  dialog.showModal();
  refresh();
  return dialog;
}

/** Clear task instances (one or many, each a whole task or one map index) with Airflow's
 * options; preset: options checked when the dialog opens. */
export function clearTaskInstances(refs, done, { preset = {}, title, confirmLabel = "Clear" } = {}) {
  return confirmAction({
    title: title ?? `Clear ${describe(refs)}`, path: "task-instances/clear", body: { task_instances: refs },
    options: CLEAR_OPTIONS, preset, confirmLabel, done,
  });
}

/** Mark task instances success or failed with past/future/upstream/downstream. */
export function markTaskInstances(refs, state, done, { title, confirmLabel, options = MARK_OPTIONS } = {}) {
  return confirmAction({
    title: title ?? `Mark ${describe(refs)} ${state}`, path: "task-instances/mark",
    body: { task_instances: refs, state }, options, confirmLabel: confirmLabel ?? `Mark ${state}`,
    confirmClass: state === "failed" ? ".danger" : ".primary", done,
  });
}

export function clearRuns(refs, onlyFailed, done) {
  const what = refs.length === 1 ? `run ${refs[0].run_id}` : `${refs.length} runs`;
  return confirmAction({
    title: onlyFailed ? `Clear the failed tasks of ${what}` : `Clear ${what}`, path: "runs/clear",
    body: { runs: refs, only_failed: onlyFailed }, confirmLabel: "Clear", done,
  });
}

export function markRuns(refs, state, done, { title, confirmLabel } = {}) {
  const what = refs.length === 1 ? `run ${refs[0].run_id}` : `${refs.length} runs`;
  return confirmAction({
    title: title ?? `Mark ${what} ${state}`, path: "runs/mark", body: { runs: refs, state },
    confirmLabel: confirmLabel ?? `Mark ${state}`, done,
  });
}

/** The buttons of a whole run (op and admin): stop it while it runs (mark it failed: its
 * running tries are stopped), clear its failed tasks, clear it, mark it. */
export function runButtons(dagId, runId, done, runState = null) {
  const ref = [{ dag_id: dagId, run_id: runId }];
  const button = (label, action, onclick, cls = "") =>
    h(`button${cls}`, { type: "button", "data-action": action, onclick }, label);
  return h("div.actions.run-actions", {},
    ["running", "queued"].includes(runState) ? button("Stop run", "run-stop", () => markRuns(ref, "failed", done,
      { title: `Stop run ${runId}: mark it failed, stopping its running tries`, confirmLabel: "Stop run" }), ".danger") : null,
    button("Clear failed tasks", "run-clear-failed", () => clearRuns(ref, true, done)),
    button("Clear run", "run-clear", () => clearRuns(ref, false, done)),
    button("Mark success", "run-mark-success", () => markRuns(ref, "success", done)),
    button("Mark failed", "run-mark-failed", () => markRuns(ref, "failed", done), ".danger"));
}
