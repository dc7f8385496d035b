// The grid endpoint's answer, normalised to what the grid, graph and durations draw:
// { tasks: [{task_id, operator_name}], runs: [{run_id, state, ..., tis: {task_id: ti}}] },
// runs oldest first (left) to newest (right).
import { elapsed } from "./core.js";

// The compact answer (?compact=true): a run's states as one letter a task of task_order,
// its index in `states` (a = 0), "." where the run has no such task.
const CODES = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

function tisOfCodes(run, order, legend) {
  const out = {};
  const codes = run.codes;
  for (let i = 0; i < order.length && i < codes.length; i += 1) {
    const code = codes[i];
    if (code === ".") continue;
    const taskId = order[i];
    const ti = { state: legend[CODES.indexOf(code)] || "none", task_id: taskId, duration: null };
    if (run.mapped?.[taskId]) ti.mapped = run.mapped[taskId];
    out[taskId] = ti;
  }
  return out;
}

function tisOf(run, data) {
  if (typeof run.codes === "string") return tisOfCodes(run, data.task_order ?? [], data.states ?? []);
  const out = {};
  for (const [taskId, value] of Object.entries(run.tasks ?? {})) {
    const ti = typeof value === "string" ? { state: value } : { ...value };
    ti.task_id = taskId;
    ti.state ||= "none";
    if (ti.duration === undefined) ti.duration = run.durations?.[taskId] ?? null;
    if (ti.try_number === undefined && run.try_numbers) ti.try_number = run.try_numbers[taskId];
    if (run.mapped?.[taskId]) ti.mapped = run.mapped[taskId]; // {state: count} of its instances
    out[taskId] = ti;
  }
  return out;
}

/** `known`: the DAG's tasks from the page ({task_id, operator_name}), for labels. */
export function normalizeGrid(data, known = []) {
  const labels = new Map(known.map((t) => [t.task_id, t]));
  const tasks = (data.task_order ?? known.map((t) => t.task_id)).map((taskId) =>
    ({ task_id: taskId, operator_name: labels.get(taskId)?.operator_name, removed: labels.size > 0 && !labels.has(taskId) }));
  // The API lists runs newest first; the grid reads left (old) to right (new).
  const runs = [...(data.runs ?? [])].reverse().map((run) => ({
    ...run,
    tis: tisOf(run, data),
    duration: run.start_date ? elapsed(run.start_date, run.end_date) : null,
  }));
  return { tasks, runs, older: Boolean(data.older), newer: Boolean(data.newer) };
}
