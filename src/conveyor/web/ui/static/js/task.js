// A task instance: its state, what it waits for, the exception and the log's last lines on
// top, then every try with its timeline, and tabs: the full log (followed while it grows,
// with times, search, wrap and download), the XCom it pushed, its rendered templates. A
// mapped task as a whole shows its instances instead, each linking to its own page.
import {
  act, api, canEdit, duration, elapsed, embedded, enc, fill, FINISHED_STATES as FINISHED, h, links,
  live, localTime, stateBadge, timeEl, url,
} from "./core.js";
import { taskActions } from "./grid.js";

const page = embedded("ti-data");
const mapIndex = page.map_index ?? null;
const runPath = `dags/${enc(page.dag_id)}/runs/${enc(page.run_id)}`;
const base = `${runPath}/tasks/${enc(page.task_id)}${mapIndex === null ? "" : `/mapped/${mapIndex}`}`;
const TAIL_LINES = 30;

let detail = null;
let poller = null; // the live poll, set once the first paint is drawn
let lastSignature = "";
let tailTry = null;

function renderHeader(ti) {
  fill("ti-state", stateBadge(ti.state, "big"));
  fill("run-state", stateBadge(ti.run_state));
  if (ti.mapped && mapIndex === null) {
    fill("ti-try", `mapped: ${ti.instances.length} instance${ti.instances.length === 1 ? "" : "s"}`);
  } else {
    fill("ti-try", ti.try_number ? `try ${ti.try_number} of ${ti.max_tries}` : "no try yet");
  }
  const seconds = ti.duration ?? (ti.start_date ? elapsed(ti.start_date, ti.end_date) : null);
  fill("ti-duration", seconds !== null ? duration(seconds) : "—");
  fill("ti-host", ti.hostname ? `${ti.hostname}${ti.pid ? " · pid " + ti.pid : ""}` : "—");
  const actions = document.getElementById("ti-actions");
  if (canEdit(page.dag_id)) fill(actions, taskActions(page.dag_id, page.run_id, page.task_id, ti.state, () => poller?.refresh(), mapIndex));
}

// ---- a mapped task as a whole: its instances ----

function renderInstances(ti) {
  const counts = Object.entries(ti.instance_states ?? {});
  fill("instances-summary", counts.map(([state, n]) => h("span.count", { "data-state": state }, stateBadge(state), ` ${n} `)));
  const body = document.querySelector("#instances tbody");
  fill(body, ti.instances.map((i) => h("tr", { "data-map-index": i.map_index },
    h("td", {}, h("a", { href: links.mapped(page.dag_id, page.run_id, page.task_id, i.map_index), title: `map_index ${i.map_index}` }, `${i.rendered_map_index ?? i.map_index}`)),
    h("td", {}, stateBadge(i.state)),
    h("td", {}, i.try_number ? `${i.try_number} of ${i.max_tries}` : h("span.faint", {}, "none yet")),
    h("td", {}, timeEl(i.start_date)),
    h("td", {}, i.duration !== null ? duration(i.duration) : "—"),
    h("td", {}, i.hostname ?? "—"))));
}

function renderWaiting(ti) {
  const box = document.getElementById("ti-waiting");
  if (!ti.waiting_for?.length || FINISHED.has(ti.state) || ti.state === "running") { box.replaceChildren(); return; }
  fill(box, h("div.wait-box", { "data-testid": "waiting-for" },
    h("strong", {}, "Waiting for"),
    h("ul", {}, ti.waiting_for.map((reason) => h("li", {}, reason)))));
}

function lastFailedTry(ti) {
  return [...ti.tries].reverse().find((t) => t.error) ?? null;
}

function renderError(ti) {
  const failed = lastFailedTry(ti);
  const box = document.getElementById("ti-error");
  // An old try's error stays interesting only while the instance has not succeeded since.
  if (!failed || ti.state === "success") { box.replaceChildren(); return; }
  const how = failed.exit_kind ? ` (${failed.exit_kind})` : "";
  fill(box, h("div.error-box", { id: "error" },
    h("div.error-head", {}, `Try ${failed.number} failed${how}`,
      failed.end ? h("span.muted", { style: "font-weight: 400" }, " · ", timeEl(failed.end)) : null),
    h("pre", { id: "exception" }, failed.error)));
}

/** What a task callback raised: its try's timeline says so, and it is shown here, never
 * only in the try's log (an alert that did not go out is worth seeing). */
function renderCallbackErrors(ti) {
  const box = document.getElementById("ti-callback-errors");
  const found = ti.tries.flatMap((t) => t.events
    .filter((event) => event.kind === "callback_failed")
    .map((event) => h("li", {}, `Try ${t.number}: ${event.message}`)));
  if (!found.length) { box.replaceChildren(); return; }
  fill(box, h("div.error-box", { id: "callback-errors", "data-testid": "callback-errors" },
    h("div.error-head", {}, "A callback raised"),
    h("ul", { style: "margin: 0; padding: .6rem .8rem .6rem 2rem" }, found)));
}

async function renderTail(ti) {
  const panel = document.getElementById("tail-panel");
  // The tail of the try that matters: the latest, unless an earlier one failed and the
  // instance has not succeeded since (a retry that succeeded shows its own log).
  const chosen = (ti.state === "success" ? null : lastFailedTry(ti)) ?? ti.tries[ti.tries.length - 1];
  if (!chosen?.has_log) { panel.classList.add("hidden"); return; }
  if (tailTry === chosen.number && chosen.end && !ti.state.match(/running/)) return;
  tailTry = chosen.number;
  try {
    const chunk = await api(`${base}/tries/${chosen.number}/log?tail=${TAIL_LINES}`);
    fill("tail-title", `Last ${TAIL_LINES} lines of the log of try ${chosen.number}`);
    fill("log-tail", chunk.text || h("span.faint", {}, "(empty)"));
    panel.classList.toggle("hidden", !chunk.text);
    // The box is shorter than its lines: show their end, where the error is.
    const tail = document.getElementById("log-tail");
    tail.scrollTop = tail.scrollHeight;
  } catch (error) {
    fill("log-tail", h("span.faint", {}, error.message));
    panel.classList.remove("hidden");
  }
}

function eventItem(event) {
  const kind = String(event.kind).toLowerCase();
  return h(`li.k-${kind.replace(/[^a-z_]/g, "")}`, {},
    h("span", {}, timeEl(event.at, { hint: false })),
    h("span.kind", {}, event.kind),
    h("span", {}, event.message, " ", h("span.actor", {}, `— ${event.actor}`)));
}

/** Heartbeats come every few seconds: show the first and the last, and how many between. */
function timeline(events) {
  const items = [];
  let beats = [];
  const flush = () => {
    if (!beats.length) return;
    items.push(eventItem(beats[0]));
    if (beats.length > 2) items.push(h("li.collapsed", {}, h("span"), h("span"), h("span", {}, `… ${beats.length - 2} more heartbeats`)));
    if (beats.length > 1) items.push(eventItem(beats[beats.length - 1]));
    beats = [];
  };
  for (const event of events) {
    if (String(event.kind).toLowerCase().includes("heartbeat")) beats.push(event);
    else { flush(); items.push(eventItem(event)); }
  }
  flush();
  return h("ul.timeline", {}, items);
}

function renderTries(ti) {
  if (!ti.tries.length) { fill("tries", h("span.muted", {}, "No try yet.")); return; }
  fill("tries", [...ti.tries].reverse().map((t) => h("div.try", { id: `try-${t.number}`, "data-try": t.number },
    h("div.try-head", {},
      h("span.n", {}, `Try ${t.number}`),
      t.state ? stateBadge(t.state) : null,
      t.host ? h("span", {}, "on ", h("strong", {}, t.host), t.pid ? ` (pid ${t.pid})` : "") : null,
      h("span.muted", {}, `queue ${t.queue}`),
      t.start ? h("span", {}, "started ", timeEl(t.start)) : null,
      t.duration !== null && t.duration !== undefined ? h("span", {}, duration(t.duration)) : (t.start && !t.end ? h("span", {}, duration(elapsed(t.start)), " so far") : null),
      t.exit_kind ? h("span.muted", {}, `ended: ${t.exit_kind}`) : null,
      h("span", { style: "flex: 1" }),
      t.has_log ? h("a", { href: "#log-panel", onclick: () => { showTab("log"); chooseLogTry(t.number, true); } }, "log") : null),
    t.events.length ? timeline(t.events) : h("div.muted", { style: "padding: .4rem .7rem" }, "No events recorded."))));
}

// ---- tabs: log, XCom, rendered templates (the URL keeps the one shown: ?tab=) ----

let tab = page.tab ?? "log";

function showTab(name) {
  tab = name;
  for (const link of document.querySelectorAll("#ti-tabs a[data-tab]")) link.classList.toggle("active", link.dataset.tab === name);
  for (const panel of document.querySelectorAll("[data-tab-panel]")) panel.classList.toggle("hidden", panel.dataset.tabPanel !== name);
  const address = new URL(location.href);
  if (name === "log") address.searchParams.delete("tab"); else address.searchParams.set("tab", name);
  history.replaceState(null, "", address);
  refreshTab();
}

for (const link of document.querySelectorAll("#ti-tabs a[data-tab]")) {
  link.addEventListener("click", (event) => { event.preventDefault(); showTab(link.dataset.tab); });
}

function refreshTab() {
  if (!detail) return;
  if (tab === "xcom") loadXcom();
  if (tab === "rendered") loadRendered();
}

const pretty = (value) => (typeof value === "string" ? value : JSON.stringify(value, null, 2));

let xcomSignature = null;
async function loadXcom() {
  const signature = `${detail.state}:${detail.try_number}`;
  if (xcomSignature === signature) return;
  try {
    const data = await api(`${base}/xcom`);
    xcomSignature = signature;
    if (!data.xcom.length) { fill("xcom", h("p.muted.pad", { id: "xcom-empty" }, detail.try_number ? "The task pushed nothing." : "No try yet.")); return; }
    fill("xcom", h("table.data", { id: "xcom-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Key"), h("th", {}, "Value"), h("th", {}, "Pushed"))),
      h("tbody", {}, data.xcom.map((x) => h("tr", { "data-key": x.key },
        h("td.mono", {}, x.key),
        h("td", {}, h("pre.value", {}, pretty(x.value))),
        h("td", {}, timeEl(x.created_at)))))));
  } catch (error) {
    fill("xcom", h("p.muted.pad", {}, error.message));
  }
}

const renderedPicker = document.getElementById("rendered-try");
let renderedSignature = null;
renderedPicker?.addEventListener("change", () => { renderedSignature = null; loadRendered(Number(renderedPicker.value)); });

async function loadRendered(chosen) {
  const tries = detail.tries;
  if (!tries.length) { fill("rendered", h("p.muted.pad", {}, "No try yet: templates are rendered when a try runs.")); renderedPicker.classList.add("hidden"); return; }
  const numbers = tries.map((t) => t.number);
  if (renderedPicker.dataset.signature !== numbers.join(",")) {
    renderedPicker.dataset.signature = numbers.join(",");
    renderedPicker.replaceChildren(...[...numbers].reverse().map((n) => h("option", { value: n }, `try ${n}`)));
  }
  renderedPicker.classList.remove("hidden");
  const number = chosen ?? Number(renderedPicker.value || numbers[numbers.length - 1]);
  const current = tries.find((t) => t.number === number);
  const signature = `${number}:${current?.end ?? ""}`;
  if (renderedSignature === signature) return;
  try {
    const data = await api(`${base}/tries/${number}/rendered`);
    renderedSignature = signature;
    if (!data.stored) {
      fill("rendered", h("p.muted.pad", { id: "rendered-none" }, current && !current.end
        ? `Try ${number} is running: its rendered templates are kept when it ends.`
        : `Try ${number} kept no rendered templates (it ended before rendering them, or was killed).`));
      return;
    }
    const fields = Object.entries(data.fields);
    if (!fields.length) { fill("rendered", h("p.muted.pad", {}, "The task has no template fields.")); return; }
    fill("rendered", h("table.data", { id: "rendered-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, "Rendered value"))),
      h("tbody", {}, fields.map(([name, value]) => h("tr", { "data-field": name },
        h("td.mono", {}, name),
        h("td", {}, h("pre.value", {}, pretty(value))))))));
  } catch (error) {
    fill("rendered", h("p.muted.pad", {}, error.message));
  }
}

// ---- the full log: one row per line with its time, search, wrap, download ----
const logPre = document.getElementById("log");
const logPicker = document.getElementById("log-try");
const logState = {
  tryNumber: page.try ? Number(page.try) : null,
  pinned: Boolean(page.try), // a try the user chose: a new retry does not take its place
  offset: 0, complete: false, loading: false,
  partial: "", lastTime: "", startTime: "",
};
// Each line starts with the time it was written: "[2026-11-25 12:00:01,234] ..." (a log
// written before every line was stamped has times on its logging records only).
const STAMP = /^\[(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)/;

function lineRow(text) {
  const stamp = STAMP.exec(text);
  if (stamp) logState.lastTime = stamp[2];
  const time = stamp ? stamp[2] : (logState.lastTime || logState.startTime);
  return h(`div.ll${stamp ? "" : ".carried"}`, {},
    h("span.lt", { title: stamp ? `${stamp[1]} ${stamp[2]}` : "the time of the last stamped line (or the try's start)" }, time),
    h("span.lx", {}, text));
}

/** Add a chunk of text: whole lines as rows, the unfinished last line kept for the next. */
function appendLog(text) {
  const open = logPre.querySelector(".ll.partial");
  open?.remove();
  const parts = (logState.partial + text).split("\n");
  logState.partial = parts.pop();
  const rows = parts.map(lineRow);
  const saved = logState.lastTime;
  if (logState.partial) { const row = lineRow(logState.partial); row.classList.add("partial"); rows.push(row); logState.lastTime = saved; }
  logPre.append(...rows);
  if (search.query) highlight(rows);
}

function updateLogPicker(ti) {
  const withLogs = ti.tries.filter((t) => t.has_log);
  const signature = withLogs.map((t) => t.number).join(",");
  if (logPicker.dataset.signature !== signature) {
    logPicker.dataset.signature = signature;
    logPicker.replaceChildren(...withLogs.map((t) => h("option", { value: t.number }, `try ${t.number}`)));
  }
  const none = !withLogs.length;
  document.getElementById("log-none").classList.toggle("hidden", !none);
  logPre.classList.toggle("hidden", none);
  logPicker.classList.toggle("hidden", none);
  document.getElementById("log-download").classList.toggle("hidden", none);
  if (none) return;
  const newest = withLogs[withLogs.length - 1].number;
  // Follow the newest try (a retry that starts while the page is open) unless one was chosen.
  if (logState.tryNumber === null || (!logState.pinned && newest > logState.tryNumber)) chooseLogTry(newest);
  else logPicker.value = String(logState.tryNumber);
}

function chooseLogTry(number, byUser = false) {
  if (byUser) {
    logState.pinned = number !== Number(logPicker.options[logPicker.options.length - 1]?.value);
    // The address names a try chosen by hand (?try=), so it can be shared or reloaded.
    const address = new URL(location.href);
    if (logState.pinned) address.searchParams.set("try", String(number)); else address.searchParams.delete("try");
    history.replaceState(null, "", address);
  }
  if (logState.tryNumber === number && logState.offset > 0) return;
  const started = detail?.tries.find((t) => t.number === number)?.start;
  Object.assign(logState, { tryNumber: number, offset: 0, complete: false, partial: "", lastTime: "", startTime: started ? localTime(started) : "" });
  logPicker.value = String(number);
  const download = document.getElementById("log-download");
  download.href = url(`api/v1/${base}/tries/${number}/log/raw`);
  logPre.replaceChildren();
  search.current = -1;
  followLog();
}
logPicker?.addEventListener("change", () => chooseLogTry(Number(logPicker.value), true));

// A try ends in the store at once when a person stops or marks it, while its process still
// writes its last lines (on_kill, the shell's output on SIGTERM) for a moment: the log of a
// try that ended less than this long ago is read on at each poll until nothing new comes.
const SETTLE_MS = 15000;

/** Whether the ended try's log will not grow: it ended long enough ago, and the last read
 * brought nothing new. */
function settled(number, text) {
  if (text) return false;
  const end = detail?.tries.find((t) => t.number === number)?.end;
  return !end || Date.now() - Date.parse(end) > SETTLE_MS;
}

async function followLog() {
  if (logState.tryNumber === null || logState.complete || logState.loading) return;
  logState.loading = true;
  try {
    // Read on until the end of what is there now (a long log comes in several chunks).
    for (;;) {
      const number = logState.tryNumber;
      const chunk = await api(`${base}/tries/${number}/log?offset=${logState.offset}&limit=262144`);
      if (number !== logState.tryNumber) return;
      logPre.querySelector(".log-note")?.remove();
      if (chunk.text) {
        const atBottom = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 8;
        appendLog(chunk.text);
        if (atBottom && document.getElementById("log-follow").checked) logPre.scrollTop = logPre.scrollHeight;
      }
      logState.offset = chunk.next_offset;
      logState.complete = chunk.complete && chunk.next_offset >= chunk.size && settled(number, chunk.text);
      fill("log-status", `${(chunk.size / 1024).toFixed(1)} KiB${chunk.complete ? "" : " · growing"}`);
      if (!chunk.text || chunk.next_offset >= chunk.size) break;
    }
    if (!logPre.querySelector(".ll")) fill(logPre, h("span.faint.log-note", {}, logState.complete ? "(empty)" : "(empty so far)"));
  } catch (error) {
    fill(logPre, h("span.faint.log-note", {}, error.message));
    logState.complete = true;
  } finally {
    logState.loading = false;
  }
}

// Search: every match highlighted; Enter or the arrows jump to the next (Shift: previous).
const search = { query: "", current: -1 };
const searchBox = document.getElementById("log-search");

function highlight(rows) {
  const query = search.query.toLowerCase();
  for (const row of rows) {
    const cell = row.querySelector(".lx");
    const text = cell.textContent;
    if (!query || !text.toLowerCase().includes(query)) { if (cell.querySelector("mark")) cell.textContent = text; continue; }
    const pieces = [];
    let at = 0;
    const lower = text.toLowerCase();
    for (let found = lower.indexOf(query); found >= 0; found = lower.indexOf(query, at)) {
      pieces.push(text.slice(at, found), h("mark", {}, text.slice(found, found + query.length)));
      at = found + query.length;
    }
    pieces.push(text.slice(at));
    fill(cell, pieces);
  }
  countMatches();
}

function countMatches() {
  const marks = logPre.querySelectorAll("mark");
  fill("log-matches", search.query ? `${marks.length ? Math.max(search.current, 0) + 1 : 0} of ${marks.length}` : "");
}

function jump(step) {
  const marks = [...logPre.querySelectorAll("mark")];
  if (!marks.length) { countMatches(); return; }
  marks[search.current]?.classList.remove("current");
  search.current = (search.current + step + marks.length) % marks.length;
  const mark = marks[search.current];
  mark.classList.add("current");
  document.getElementById("log-follow").checked = false; // reading: stop jumping to the end
  mark.scrollIntoView({ block: "center" });
  countMatches();
}

searchBox?.addEventListener("input", () => {
  search.query = searchBox.value;
  search.current = -1;
  highlight([...logPre.querySelectorAll(".ll")]);
});
searchBox?.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); jump(event.shiftKey ? -1 : 1); }
});
document.getElementById("log-next")?.addEventListener("click", () => jump(1));
document.getElementById("log-prev")?.addEventListener("click", () => jump(-1));
const wrapBox = document.getElementById("log-wrap");
const timesBox = document.getElementById("log-times");
const layout = () => {
  logPre.classList.toggle("nowrap", !wrapBox.checked);
  logPre.classList.toggle("no-times", !timesBox.checked);
};
if (logPre) { // not on the page of a mapped task as a whole: its instances have the logs
  wrapBox.checked = true;
  wrapBox.addEventListener("change", layout);
  timesBox.addEventListener("change", layout);
  layout();
}

// ---- notes: shown to all, edited by op and admin ----

function noteEditor(boxId, textId, path, current) {
  const box = document.getElementById(boxId);
  if (!box || !canEdit(page.dag_id)) return;
  const button = h("button.link", { type: "button", "data-action": `edit-${boxId}` }, "Edit");
  box.append(" ", button);
  button.addEventListener("click", () => {
    const area = h("textarea", { rows: 2, maxlength: 1000, "aria-label": "Note" });
    area.value = current();
    const save = h("button", { type: "button", "data-action": "save-note" }, "Save");
    const cancel = h("button.link", { type: "button" }, "Cancel");
    const form = h("div.note-edit", {}, area, save, cancel);
    button.classList.add("hidden");
    box.append(form);
    area.focus();
    cancel.addEventListener("click", () => { form.remove(); button.classList.remove("hidden"); });
    save.addEventListener("click", (event) => act(event.currentTarget, async () => {
      const result = await api(path, { method: "PUT", body: { note: area.value } });
      fill(textId, result.note ?? h("span.faint", {}, "none"));
      box.dataset.note = result.note ?? "";
      form.remove();
      button.classList.remove("hidden");
      return result;
    }, "note saved"));
  });
}

const runNoteBox = document.getElementById("run-note-box");
noteEditor("run-note-box", "run-note", `${runPath}/note`, () => runNoteBox.dataset.note ?? "");
noteEditor("ti-note-box", "ti-note", `${base}/note`, () => detail?.user_note ?? "");

function renderNote(ti) {
  if (document.querySelector("#ti-note-box .note-edit")) return; // being edited
  fill("ti-note", ti.user_note ?? h("span.faint", {}, "none"));
}

async function show(data) {
  detail = data;
  const signature = JSON.stringify(detail);
  if (signature !== lastSignature) {
    lastSignature = signature;
    renderHeader(detail);
    if (detail.mapped && mapIndex === null) { renderInstances(detail); return; }
    renderNote(detail);
    renderWaiting(detail);
    renderError(detail);
    renderCallbackErrors(detail);
    renderTries(detail);
    updateLogPicker(detail);
    refreshTab();
    await renderTail(detail);
  }
  if (!(detail.mapped && mapIndex === null)) await followLog();
}

const initial = embedded("initial-data");
if (initial) show(initial);
poller = live(async () => show(await api(base)), { now: !initial });
