// Workers, schedulers and triggerers with their heartbeats, and every try queued or running now.
import { api, duration, elapsed, embedded, enc, fill, h, links, listOf, live, stateBadge, timeEl } from "./core.js";

const alive = (item) => (item.stopped_at
  ? h("span.state.st-skipped", {}, "stopped")
  : item.alive ? h("span.state.st-success", {}, "alive") : h("span.state.st-failed", {}, "no heartbeat"));

function renderSchedulers(items) {
  const up = items.filter((s) => s.alive).length;
  fill("schedulers-summary", `${up} alive of ${items.length} known`);
  fill("schedulers", items.length ? items.map((s) => h("tr", { "data-scheduler": s.id },
    h("td", {}, alive(s)), h("td", {}, s.hostname), h("td.mono", {}, s.pid), h("td.mono.muted", {}, s.id.slice(0, 12)),
    h("td", {}, timeEl(s.started_at)), h("td", {}, timeEl(s.heartbeat_at))))
    : h("tr", {}, h("td.empty", { colspan: 6 }, "No scheduler has ever run against this store. Start one with `conveyor scheduler`.")));
}

function renderTriggerers(items) {
  const up = items.filter((t) => t.alive).length;
  fill("triggerers-summary", items.length ? `${up} alive of ${items.length} known` : "");
  fill("triggerers", items.length ? items.map((t) => h("tr", { "data-triggerer": t.id },
    h("td", {}, alive(t)), h("td", {}, t.hostname), h("td.mono", {}, t.pid),
    h("td", {}, `${t.running} / ${t.capacity}`), h("td.mono.muted", {}, t.id.slice(0, 12)),
    h("td", {}, timeEl(t.started_at)), h("td", {}, timeEl(t.heartbeat_at))))
    : h("tr", {}, h("td.empty", { colspan: 7 },
      "No triggerer has run against this store. Deferred tries need one: start `conveyor triggerer`.")));
}

function renderWorkers(items) {
  const up = items.filter((w) => w.alive).length;
  fill("workers-summary", items.length ? `${up} alive of ${items.length} known` : "");
  fill("workers", items.length ? items.map((w) => h("tr", { "data-worker": w.hostname },
    h("td", {}, alive(w)), h("td", {}, h("strong", {}, w.hostname)),
    h("td", {}, w.queues.map((q) => h("span.tag", {}, q))),
    h("td", {}, `${w.running} / ${w.concurrency}`),
    h("td.mono", {}, w.pid), h("td", {}, timeEl(w.started_at)), h("td", {}, timeEl(w.heartbeat_at))))
    : h("tr", {}, h("td.empty", { colspan: 7 },
      "No Celery workers. With the local executor, tries run in processes of the scheduler's host (listed below).")));
}

/** Tries in flight: the task instances of running runs that are queued or running. */
async function inflight() {
  const running = listOf(await api("runs?state=running&limit=50"), "runs");
  const lists = await Promise.all(running.map((run) =>
    api(`dags/${enc(run.dag_id)}/runs/${enc(run.run_id)}/tasks`).then((data) =>
      listOf(data, "task_instances").map((ti) => ({ ...ti, dag_id: run.dag_id, run_id: run.run_id })))));
  return lists.flat().filter((ti) => ti.state === "running" || ti.state === "queued");
}

function renderInflight(items) {
  fill("inflight-summary", `${items.filter((t) => t.state === "running").length} running, ${items.filter((t) => t.state === "queued").length} queued`);
  fill("inflight", items.length ? items.map((ti) => h("tr", {},
    h("td", {}, stateBadge(ti.state)),
    h("td", {}, h("a", { href: links.dag(ti.dag_id) }, ti.dag_id)),
    h("td", {}, h("a", { href: links.task(ti.dag_id, ti.run_id, ti.task_id) }, ti.task_id)),
    h("td.mono.muted", {}, ti.run_id), h("td", {}, `${ti.try_number} / ${ti.max_tries}`),
    h("td", {}, ti.queue), h("td", {}, ti.hostname ? `${ti.hostname}${ti.pid ? " · " + ti.pid : ""}` : h("span.faint", {}, "—")),
    h("td", {}, timeEl(ti.start_date ?? ti.queued_at)),
    h("td", {}, ti.start_date ? duration(elapsed(ti.start_date)) : "")))
    : h("tr", {}, h("td.empty", { colspan: 9 }, "Nothing is queued or running.")));
}

const initial = embedded("initial-data");
if (initial) {
  renderSchedulers(listOf(initial.schedulers, "schedulers"));
  renderWorkers(listOf(initial.workers, "workers"));
  renderTriggerers(listOf(initial.triggerers, "triggerers"));
}
live(async () => {
  const [schedulers, workers, triggerers, tries] = await Promise.all(
    [api("schedulers"), api("workers"), api("triggerers"), inflight()]);
  renderSchedulers(listOf(schedulers, "schedulers"));
  renderWorkers(listOf(workers, "workers"));
  renderTriggerers(listOf(triggerers, "triggerers"));
  renderInflight(tries);
}, { interval: 2000 });
