// Runs of every DAG: filters, sort and page in the URL; select runs to clear or mark them.
import { duration, elapsed, h, links, runTypeMark, stateBadge, timeEl } from "./core.js";
import { clearRuns, markRuns } from "./actions.js";
import { failedLastDay, listPage } from "./listpage.js";

const ref = (run) => ({ dag_id: run.dag_id, run_id: run.run_id });

listPage({
  path: "runs",
  itemsKey: "runs",
  noun: "runs",
  key: (run) => `${run.dag_id}|${run.run_id}`,
  attrs: (run) => ({ "data-dag-id": run.dag_id, "data-run-id": run.run_id, "data-state": run.state }),
  columns: ["DAG", "Run", "State", "Type", "Logical date", "Started", "Ended", "Duration"],
  cells: (run) => [
    h("td.mono", {}, h("a", { href: links.dag(run.dag_id) }, run.dag_id)),
    h("td.mono", {}, h("a", { href: links.run(run.dag_id, run.run_id), title: "Open the run in its DAG's grid" }, run.run_id)),
    h("td", {}, stateBadge(run.state)),
    h("td", {}, runTypeMark(run.run_type, { label: true })),
    h("td.nowrap", {}, timeEl(run.logical_date, { hint: false })),
    h("td.nowrap", {}, timeEl(run.start_date)),
    h("td.nowrap", {}, timeEl(run.end_date)),
    h("td.nowrap", {}, duration(elapsed(run.start_date, run.end_date)) || h("span.faint", {}, "—")),
  ],
  bulk: [
    { label: "Clear failed tasks", action: "clear-failed", run: (runs, done) => clearRuns(runs.map(ref), true, done) },
    { label: "Clear", action: "clear", run: (runs, done) => clearRuns(runs.map(ref), false, done) },
    { label: "Mark success", action: "mark-success", run: (runs, done) => markRuns(runs.map(ref), "success", done) },
    { label: "Mark failed", action: "mark-failed", cls: ".danger", run: (runs, done) => markRuns(runs.map(ref), "failed", done) },
  ],
  shortcut: { id: "failed-24h", query: () => failedLastDay("end_date") },
});
