// The DAG list: one page of DAGs with their schedule, recent runs, next run and pause switch;
// import errors on top. Search, state, tags, sort and page are in the URL and the API
// query alike (the server filters a list of thousands). Updated in place every poll.
// An op pauses or unpauses many at once: the rows selected, or every DAG matching the
// filters (one PATCH /dags request either way).
import {
  act, api, canEdit, embedded, enc, fill, h, links, listOf, live, localTime, pageQuery, relative, stateBadge,
  stateClass, timeEl, toast,
} from "./core.js";

const rows = document.getElementById("dag-rows");
const searchInput = document.getElementById("dag-filter");
const sortSelect = document.getElementById("dag-sort");
const PER_PAGE = 50;
// The list's search, tags, state, sort and page live in the URL, so a view can be shared.
let query = new URLSearchParams(location.search);
let lastText = "";
let lastList = null;
let lastErrors = [];
const selected = new Set();  // DAG ids ticked, kept across polls and pages

/** A link to this list with the query changed (page 1 again, unless a page is given). */
function withQuery(change) {
  const next = new URLSearchParams(query);
  next.delete("page");
  change(next);
  return next;
}

const href = (next) => `${location.pathname}${next.toString() ? "?" + next : ""}`;

function go(next, { push = true } = {}) {
  query = next;
  if (push) history.pushState(null, "", href(next)); else history.replaceState(null, "", href(next));
  showQuery();
  load().catch((error) => fill(rows, h("tr", {}, h("td.empty.error", { colspan: 8 }, error.message))));
}

function tagLink(tag) {
  const active = query.getAll("tag").includes(tag);
  const next = withQuery((q) => {
    const others = q.getAll("tag").filter((t) => t !== tag);
    q.delete("tag");
    for (const t of active ? others : [...others, tag]) q.append("tag", t);
  });
  return h(`a.tag${active ? ".active" : ""}`, {
    href: href(next), "data-tag": tag, title: active ? `Stop filtering by ${tag}` : `Only DAGs tagged ${tag}`,
    onclick: (event) => { event.preventDefault(); go(next); },
  }, tag);
}

function recentRuns(dag) {
  // Oldest left, newest right, like the grid.
  const recent = [...(dag.recent_runs ?? [])].reverse();
  if (!recent.length) return h("span.faint", {}, "no runs yet");
  return h("span.recent", {}, recent.map((run) =>
    h(`a.sq.${stateClass(run.state)}`, {
      href: links.run(dag.dag_id, run.run_id),
      title: `${run.run_id}\n${run.state} · ${localTime(run.logical_date)}`,
      "data-state": run.state,
    })));
}

function pauseSwitch(dag) {
  const input = h("input", {
    type: "checkbox", checked: !dag.is_paused, disabled: !canEdit(dag.dag_id),
    "aria-label": `${dag.is_paused ? "Unpause" : "Pause"} ${dag.dag_id}`,
    onchange: async (event) => {
      const paused = !event.target.checked;
      const done = await act(event.target, () =>
        api(`dags/${enc(dag.dag_id)}`, { method: "PATCH", body: { is_paused: paused } }),
        `${dag.dag_id} ${paused ? "paused" : "unpaused"}`);
      if (done === undefined) event.target.checked = !paused;
      dag.is_paused = paused;
      event.target.closest("tr")?.classList.toggle("paused", paused);
    },
  });
  return h("label.switch", { title: canEdit(dag.dag_id) ? "On: scheduled. Off: paused." : "Your roles may read this DAG but not pause it" },
    input, h("span.slider"));
}

function selectBox(dag) {
  if (!canEdit(dag.dag_id)) return null;
  return h("input.select", {
    type: "checkbox", checked: selected.has(dag.dag_id), "data-select": dag.dag_id,
    "aria-label": `Select ${dag.dag_id}`,
    onchange: (event) => {
      if (event.target.checked) selected.add(dag.dag_id); else selected.delete(dag.dag_id);
      showSelection();
    },
  });
}

function row(dag) {
  const last = dag.last_run;  // by logical date: a late backfill of old dates is not the last
  return h(`tr${dag.is_paused ? ".paused" : ""}`, { "data-dag-id": dag.dag_id },
    h("td.nowrap", {}, selectBox(dag), " ", pauseSwitch(dag)),
    h("td", {},
      h("div.dag-id", {}, h("a", { href: links.dag(dag.dag_id) }, dag.dag_display_name ?? dag.dag_id),
        dag.dag_display_name && dag.dag_display_name !== dag.dag_id ? h("span.faint.mono", { style: "font-size: .8rem; margin-left: .4rem" }, dag.dag_id) : null),
      dag.description ? h("div.muted", { style: "font-size: .85rem" }, dag.description) : null,
      (dag.tags ?? []).length ? h("div", {}, dag.tags.map(tagLink)) : null),
    h("td.mono", {}, dag.schedule && dag.schedule !== "None" ? dag.schedule : h("span.faint", {}, "manual only")),
    h("td", {}, dag.owner ?? ""),
    h("td", {}, recentRuns(dag)),
    h("td.nowrap", {}, last
      ? [stateBadge(last.state), " ", h("span.muted", { title: `logical date ${last.logical_date}` }, localTime(last.logical_date, { seconds: false }))]
      : h("span.faint", {}, "—")),
    h("td.nowrap", {}, dag.is_paused ? h("span.faint", {}, "paused") : timeEl(dag.next_run_after)),
    h("td.right", {}, canEdit(dag.dag_id)
      ? h("a.button", { href: links.trigger(dag.dag_id), title: `Trigger ${dag.dag_id} with params`, "data-action": "trigger" }, "▶ Trigger")
      : null),
  );
}

const CHIPS = [["", "All", "all"], ["failed", "Failed", "failed"], ["running", "Running", "running"],
  ["success", "Succeeded", "success"], ["active", "Active", "active"], ["paused", "Paused", "paused"]];

function renderChips(counts) {
  const current = query.get("state") ?? "";
  fill("dag-states", CHIPS.map(([value, label, count]) => {
    const next = withQuery((q) => { if (value) q.set("state", value); else q.delete("state"); });
    return h(`a.chip${current === value ? ".active" : ""}`, {
      href: href(next), "data-state-filter": value || "all",
      onclick: (event) => { event.preventDefault(); go(next); },
    }, label, h("span.n", {}, String(counts?.[count] ?? 0)));
  }));
}

function renderPager(total) {
  const page = Number(query.get("page") ?? "1") || 1;
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  const link = (n, label, enabled) => {
    if (!enabled) return h("button", { type: "button", disabled: true }, label);
    const next = new URLSearchParams(query);
    if (n > 1) next.set("page", String(n)); else next.delete("page");
    return h("a.button", { href: href(next), "data-page": n, onclick: (event) => { event.preventDefault(); go(next); } }, label);
  };
  fill("dag-pager", link(page - 1, "‹ Previous", page > 1), h("span.muted", { id: "page-of" }, `page ${page} of ${pages}`),
    link(page + 1, "Next ›", page < pages));
}

function render() {
  const list = lastList;
  const dags = list.dags;
  const filtered = query.has("search") || query.has("tag") || query.has("state");
  if (!dags.length && !filtered) {
    fill(rows, h("tr", {}, h("td.empty", { colspan: 8 },
      "No DAGs yet. Put a DAG file in the DAG folder; the scheduler picks it up within seconds.")));
  } else if (!dags.length) {
    fill(rows, h("tr", {}, h("td.empty", { colspan: 8 }, "No DAG matches these filters.")));
  } else {
    fill(rows, dags.map(row));
  }
  showSelection();
  const counts = list.counts ?? {};
  fill("dag-summary", `${list.total} DAG${list.total === 1 ? "" : "s"}${filtered ? " match" : ""} · ${counts.paused ?? 0} paused · `,
    counts.failed ? h("span", { style: "color: var(--st-failed)" }, `${counts.failed} failing`) : "none failing");
  renderChips(counts);
  renderPager(list.total);
}

function showSelection() {
  const bar = document.getElementById("dag-bulk");
  if (!bar) return;
  bar.classList.remove("hidden");
  fill("dag-selected", selected.size ? `${selected.size} selected` : "none selected");
  for (const button of bar.querySelectorAll("[data-bulk=selected]")) button.disabled = !selected.size;
  const page = document.getElementById("dag-select-page");
  const ids = (lastList?.dags ?? []).map((d) => d.dag_id);
  if (page) page.checked = ids.length > 0 && ids.every((id) => selected.has(id));
}

/** PATCH /dags for the selected rows or for every DAG the list's filters match. */
async function bulk(button) {
  const paused = button.dataset.paused === "true";
  const verb = paused ? "Pause" : "Unpause";
  const asked = new URLSearchParams();
  let count;
  if (button.dataset.bulk === "selected") {
    for (const id of selected) asked.append("dag_id", id);
    count = selected.size;
  } else {
    for (const key of ["search", "state"]) if (query.get(key)) asked.set(key, query.get(key));
    for (const tag of query.getAll("tag")) asked.append("tag", tag);
    count = lastList?.total ?? 0;
  }
  if (!count || !window.confirm(`${verb} ${count} DAG${count === 1 ? "" : "s"}?`)) return;
  const done = await act(button, () => api(`dags?${asked}`, { method: "PATCH", body: { is_paused: paused } }));
  if (done === undefined) return;
  toast(`${verb}d ${done.changed.length} of ${done.total_entries} DAG${done.total_entries === 1 ? "" : "s"}`);
  if (button.dataset.bulk === "selected") selected.clear();
  await load();
  showSelection();
}

/** The search box, sort and active tags as the URL says. */
function showQuery() {
  if (document.activeElement !== searchInput) searchInput.value = query.get("search") ?? "";
  sortSelect.value = query.get("order_by") ?? "dag_id";
  const tags = query.getAll("tag");
  fill("dag-tags", tags.length ? ["Tags: ", tags.map(tagLink)] : null);
}

async function load() {
  const asked = pageQuery(query, PER_PAGE);
  const [dags, errors] = await Promise.all([api(`dags?${asked}`), api("import-errors")]);
  apply(dags, errors);
}

function renderErrors() {
  const box = document.getElementById("import-errors");
  box.classList.toggle("hidden", !lastErrors.length);
  fill("import-errors-title", `${lastErrors.length} DAG file${lastErrors.length === 1 ? "" : "s"} failed to load`);
  fill("import-errors-list", lastErrors.map((error) => {
    const where = `${error.file ?? error.fileloc}${error.line ? `:${error.line}` : ""}`;
    return h("div.import-error", {},
      h("span.where", {}, where), " ", h("span.faint", {}, error.created_at ? relative(error.created_at) : ""),
      h("pre", {}, error.message),
      error.traceback ? h("details", {}, h("summary.muted", {}, "Traceback"), h("pre", {}, error.traceback)) : null);
  }));
}

function apply(list, errors) {
  const newErrors = listOf(errors, "import_errors");
  // Re-render only what changed, so a click on a switch is not lost to a redraw.
  const text = JSON.stringify(list);
  if (text !== lastText) { lastText = text; lastList = list; render(); }
  if (JSON.stringify(newErrors) !== JSON.stringify(lastErrors)) { lastErrors = newErrors; renderErrors(); }
}

showQuery();
const initial = embedded("initial-data");
if (initial) apply(initial.dags, initial.errors);
live(load, { interval: 2000, now: !initial });

let typing = null;
searchInput.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => go(withQuery((q) => {
    const text = searchInput.value.trim();
    if (text) q.set("search", text); else q.delete("search");
  }), { push: false }), 250);
});
sortSelect.addEventListener("change", () => go(withQuery((q) => {
  if (sortSelect.value === "dag_id") q.delete("order_by"); else q.set("order_by", sortSelect.value);
})));
for (const button of document.querySelectorAll("#dag-bulk [data-bulk]")) {
  button.addEventListener("click", () => bulk(button));
}
document.getElementById("dag-select-page")?.addEventListener("change", (event) => {
  for (const dag of lastList?.dags ?? []) {
    if (event.target.checked) selected.add(dag.dag_id); else selected.delete(dag.dag_id);
  }
  render();
});
window.addEventListener("popstate", () => { query = new URLSearchParams(location.search); go(query, { push: false }); });
