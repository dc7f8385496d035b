// Task instances of every DAG: filters, sort and page in the URL; select them to clear or mark.
import { duration, h, links, stateBadge, timeEl } from "./core.js";
import { clearTaskInstances, markTaskInstances, tiRef } from "./actions.js";
import { failedLastDay, listPage } from "./listpage.js";

// Each row is one instance: a mapped task's row acts on its map index only.
const refs = (tis) => tis.map((ti) => tiRef(ti.dag_id, ti.run_id, ti.task_id, ti.map_index));

listPage({
  path: "task-instances",
  itemsKey: "task_instances",
  noun: "task instances",
  key: (ti) => `${ti.dag_id}|${ti.run_id}|${ti.task_id}|${ti.map_index}`,
  attrs: (ti) => ({ "data-dag-id": ti.dag_id, "data-run-id": ti.run_id, "data-task-id": ti.task_id, "data-map-index": ti.map_index, "data-state": ti.state }),
  columns: ["DAG", "Run", "Task", "State", "Try", "Started", "Ended", "Duration", "Host"],
  cells: (ti) => [
    h("td.mono", {}, h("a", { href: links.dag(ti.dag_id) }, ti.dag_id)),
    h("td.mono", {}, h("a", { href: links.run(ti.dag_id, ti.run_id) }, ti.run_id)),
    h("td.mono", {}, h("a", { href: ti.map_index >= 0 ? links.mapped(ti.dag_id, ti.run_id, ti.task_id, ti.map_index) : links.task(ti.dag_id, ti.run_id, ti.task_id) }, ti.task_id),
      ti.map_index >= 0 ? h("span.faint", {}, ` [${ti.rendered_map_index ?? ti.map_index}]`) : null),
    h("td", {}, stateBadge(ti.state)),
    h("td", {}, ti.try_number ? `${ti.try_number} of ${ti.max_tries}` : h("span.faint", {}, "—")),
    h("td.nowrap", {}, timeEl(ti.start_date)),
    h("td.nowrap", {}, timeEl(ti.end_date)),
    h("td.nowrap", {}, duration(ti.duration) || h("span.faint", {}, "—")),
    h("td.mono", {}, ti.hostname ?? ""),
  ],
  bulk: [
    { label: "Clear…", action: "clear", run: (tis, done) => clearTaskInstances(refs(tis), done) },
    { label: "Mark success…", action: "mark-success", cls: ".bulk-mark", run: (tis, done) => markTaskInstances(refs(tis), "success", done) },
    { label: "Mark failed…", action: "mark-failed", cls: ".danger.bulk-mark", run: (tis, done) => markTaskInstances(refs(tis), "failed", done) },
  ],
  shortcut: { id: "failed-24h", query: () => failedLastDay("end_date") },
});
