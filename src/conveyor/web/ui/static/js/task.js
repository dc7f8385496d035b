// A task instance: its state, what it waits for, the exception and the log's last lines on
// top, then every try with its timeline, and the full log (followed while it grows).
import {
  api, can, duration, elapsed, embedded, enc, fill, h, live, stateBadge, timeEl,
} from "./core.js";
import { taskActions } from "./grid.js";

const page = embedded("ti-data");
const base = `dags/${enc(page.dag_id)}/runs/${enc(page.run_id)}/tasks/${enc(page.task_id)}`;
const TAIL_LINES = 30;
const FINISHED = new Set(["success", "failed", "skipped", "upstream_failed"]);

let detail = null;
let poller = null; // the live poll, set once the first paint is drawn
let lastSignature = "";
let tailTry = null;

const logState = { tryNumber: page.try ? Number(page.try) : null, offset: 0, complete: false, loading: false };

function renderHeader(ti) {
  fill("ti-state", stateBadge(ti.state, "big"));
  fill("run-state", stateBadge(ti.run_state));
  fill("ti-try", ti.try_number ? `try ${ti.try_number} of ${ti.max_tries}` : "no try yet");
  const seconds = ti.duration ?? (ti.start_date ? elapsed(ti.start_date, ti.end_date) : null);
  fill("ti-duration", seconds !== null ? duration(seconds) : "—");
  fill("ti-host", ti.hostname ? `${ti.hostname}${ti.pid ? " · pid " + ti.pid : ""}` : "—");
  const actions = document.getElementById("ti-actions");
  if (can("op")) fill(actions, taskActions(page.dag_id, page.run_id, page.task_id, ti.state, () => poller?.refresh()));
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

async function renderTail(ti) {
  const panel = document.getElementById("tail-panel");
  // The tail of the try that matters: the failed one, else the latest.
  const chosen = lastFailedTry(ti) ?? ti.tries[ti.tries.length - 1];
  if (!chosen?.has_log) { panel.classList.add("hidden"); return; }
  if (tailTry === chosen.number && chosen.end && !ti.state.match(/running/)) return;
  tailTry = chosen.number;
  try {
    const chunk = await api(`${base}/tries/${chosen.number}/log?tail=${TAIL_LINES}`);
    fill("tail-title", `Last ${TAIL_LINES} lines of the log of try ${chosen.number}`);
    fill("log-tail", chunk.text || h("span.faint", {}, "(empty)"));
    panel.classList.toggle("hidden", !chunk.text);
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
      t.has_log ? h("a", { href: "#log-panel", onclick: () => chooseLogTry(t.number) }, "log") : null),
    t.events.length ? timeline(t.events) : h("div.muted", { style: "padding: .4rem .7rem" }, "No events recorded."))));
}

// ---- the full log ----
const logPre = document.getElementById("log");
const logPicker = document.getElementById("log-try");

function updateLogPicker(ti) {
  const withLogs = ti.tries.filter((t) => t.has_log);
  const signature = withLogs.map((t) => t.number).join(",");
  if (logPicker.dataset.signature !== signature) {
    logPicker.dataset.signature = signature;
    logPicker.replaceChildren(...withLogs.map((t) => h("option", { value: t.number }, `try ${t.number}`)));
  }
  if (logState.tryNumber === null && withLogs.length) chooseLogTry(withLogs[withLogs.length - 1].number);
  else if (logState.tryNumber !== null) logPicker.value = String(logState.tryNumber);
  logPicker.classList.toggle("hidden", !withLogs.length);
}

function chooseLogTry(number) {
  if (logState.tryNumber === number && logState.offset > 0) return;
  Object.assign(logState, { tryNumber: number, offset: 0, complete: false });
  logPicker.value = String(number);
  logPre.replaceChildren();
  followLog();
}
logPicker.addEventListener("change", () => chooseLogTry(Number(logPicker.value)));

async function followLog() {
  if (logState.tryNumber === null || logState.complete || logState.loading) return;
  logState.loading = true;
  try {
    // Read on until the end of what is there now (a long log comes in several chunks).
    for (;;) {
      const number = logState.tryNumber;
      const chunk = await api(`${base}/tries/${number}/log?offset=${logState.offset}&limit=262144`);
      if (number !== logState.tryNumber) return;
      if (chunk.text) {
        const atBottom = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 8;
        logPre.append(chunk.text);
        if (atBottom && document.getElementById("log-follow").checked) logPre.scrollTop = logPre.scrollHeight;
      }
      logState.offset = chunk.next_offset;
      logState.complete = chunk.complete && chunk.next_offset >= chunk.size;
      fill("log-status", `${(chunk.size / 1024).toFixed(1)} KiB${chunk.complete ? "" : " · growing"}`);
      if (!chunk.text || chunk.next_offset >= chunk.size) break;
    }
    if (!logPre.textContent) fill(logPre, h("span.faint", {}, "(empty so far)"));
  } catch (error) {
    fill(logPre, h("span.faint", {}, error.message));
    logState.complete = true;
  } finally {
    logState.loading = false;
  }
}

async function show(data) {
  detail = data;
  const signature = JSON.stringify(detail);
  if (signature !== lastSignature) {
    lastSignature = signature;
    renderHeader(detail);
    renderWaiting(detail);
    renderError(detail);
    renderTries(detail);
    updateLogPicker(detail);
    await renderTail(detail);
  }
  if (logPre.querySelector(".faint") && !logState.complete) logPre.replaceChildren();
  await followLog();
}

const initial = embedded("initial-data");
if (initial) show(initial);
poller = live(async () => show(await api(base)), { now: !initial });
