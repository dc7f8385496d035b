// What every page shares: API calls (path prefix, CSRF), live polling, DOM building,
// local times with relative hints, durations, and the state vocabulary.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";

/** The app's path prefix behind a reverse proxy ("" or "/prefix"). */
export const BASE = meta("base-url");

/** A path inside the app as the browser must request it. */
export const url = (path) => `${BASE}/${String(path).replace(/^\/+/, "")}`;

export const enc = encodeURIComponent;

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

/** Call the JSON API; state-changing calls carry the session's CSRF token. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = meta("csrf-token");
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url(`api/v1/${path.replace(/^\/+/, "")}`), {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    // The session ended (logged out elsewhere, or expired): go and log in again.
    window.location.href = url(`login?next=${enc(location.pathname.slice(BASE.length) + location.search)}`);
    throw new ApiError(401, "login required");
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) throw new ApiError(response.status, data?.detail ?? data ?? response.statusText);
  return data;
}

/** The JSON a page embedded for its first paint (<script type="application/json" id=...>). */
export function embedded(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

const POLL_MS = 1500;

/**
 * Call `step` now and then every ~1.5 s while the tab is visible; the header's live dot turns
 * amber while calls fail. `step` may return false to stop (e.g. nothing left to change).
 */
export function live(step, { interval = POLL_MS, now = true } = {}) {
  const dot = document.getElementById("live-status");
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    if (document.hidden) { schedule(); return; }
    try {
      const more = await step();
      dot?.classList.remove("stale");
      if (dot) dot.title = `Live: updated ${new Date().toLocaleTimeString()}`;
      if (more === false) { stopped = true; return; }
    } catch (error) {
      if (dot) { dot.classList.add("stale"); dot.title = `Live updates failing: ${error.message}`; }
      console.warn("live update failed", error);
    }
    schedule();
  };
  const schedule = () => { if (!stopped && timer === null) timer = setTimeout(tick, interval); };
  document.addEventListener("visibilitychange", () => { if (!document.hidden && timer !== null) { clearTimeout(timer); tick(); } });
  if (now) tick(); else schedule();
  return { stop() { stopped = true; if (timer) clearTimeout(timer); }, refresh: tick };
}

/** h("a.cls", {href}, child...) -> an element; children may be strings, nodes, arrays, null. */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const node = document.createElement(name || "div");
  if (classes.length) node.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = [node.className, value].filter(Boolean).join(" ");
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace the children of `node` (by id or element). */
export function fill(node, ...children) {
  const target = typeof node === "string" ? document.getElementById(node) : node;
  if (!target) return null;
  target.replaceChildren();
  append(target, children);
  return target;
}

// ---- states ----

// Declared once in conveyor/lifecycle.py; base.html carries them (web/ui/state_views.py).
const LIFECYCLE = JSON.parse(document.getElementById("conveyor-states")?.textContent || "{}");
/** Every task state, and every run state, in the order the pages list them. */
export const TASK_STATES = (LIFECYCLE.task ?? []).map((s) => s.state);
export const RUN_STATES = (LIFECYCLE.run ?? []).map((s) => s.state);
export const STATE_LABELS = Object.fromEntries(
  [...(LIFECYCLE.run ?? []), ...(LIFECYCLE.task ?? [])].map((s) => [s.state, s.label]));
/** What a collapsed group shows: the first of these states one of its tasks is in. */
export const TELLING_STATES = LIFECYCLE.telling ?? [];
/** The lifecycle's named sets: a task instance that will not change again unless a person
 * clears it, one that will, a state a try's row can be in, a run that ended. */
export const FINISHED_STATES = new Set(LIFECYCLE.finished ?? []);
export const UNFINISHED_STATES = new Set(LIFECYCLE.unfinished ?? []);
export const TRY_STATES = new Set(LIFECYCLE.tried ?? []);
export const RUN_FINISHED_STATES = new Set(LIFECYCLE.run_finished ?? []);
export const stateClass = (state) => `st-${state || "none"}`;
export const stateBadge = (state, extra = "") =>
  h(`span.state.${stateClass(state)}${extra ? "." + extra : ""}`, { "data-state": state || "none" }, STATE_LABELS[state] ?? state ?? "no status");

// How a run came to be: a glyph on the grid's run bars, glyph and name in lists.
// How a run came to be, as a small shape the page draws itself (an emoji needs a font the
// machine may lack, and then draws as an empty box): scheduled a clock, manual a play
// triangle, backfill a rewind, asset-triggered a diamond, asset-materialization a hollow one.
export const RUN_TYPES = {
  scheduled: "scheduled", manual: "manual", backfill: "backfill", dataset_triggered: "asset-triggered",
  asset_materialize: "asset-materialization",
};
const RUN_TYPE_SHAPES = {
  scheduled: '<circle cx="6" cy="6" r="4.6" fill="none" stroke="currentColor" stroke-width="1.4"/>'
    + '<path d="M6 3.2V6l2 1.4" fill="none" stroke="currentColor" stroke-width="1.3"/>',
  manual: '<path d="M3 1.8 10.2 6 3 10.2z"/>',
  backfill: '<path d="M6 2.2v7.6L1.2 6zM11 2.2v7.6L6.2 6z"/>',
  dataset_triggered: '<path d="M6 1 11 6 6 11 1 6z"/>',
  asset_materialize: '<path d="M6 1.6 10.4 6 6 10.4 1.6 6z" fill="none" stroke="currentColor" stroke-width="1.4"/>',
};

function runTypeShape(type) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  for (const [name, value] of Object.entries({ viewBox: "0 0 12 12", width: "0.85em", height: "0.85em", fill: "currentColor", "aria-hidden": "true", class: "run-shape" })) svg.setAttribute(name, value);
  svg.innerHTML = RUN_TYPE_SHAPES[type] ?? '<circle cx="6" cy="6" r="2.2"/>';
  return svg;
}

export function runTypeMark(type, { label = false } = {}) {
  const name = RUN_TYPES[type] ?? (type || "unknown");
  return h("span.run-type", { "data-run-type": type || "", title: `${name} run` }, runTypeShape(type), label ? ` ${name}` : null);
}

// ---- time ----

export const parseTime = (value) => (value ? new Date(value) : null);

const pad = (n) => String(n).padStart(2, "0");

// One formatter for every date shown: toLocaleDateString makes a new one each call, which
// costs a grid of 50 runs (a date in each run's tooltip) 15 ms of a page's first drawing.
let dayFormat = null;

/** Local time, compact: "14:03:27" today, "Nov 20, 14:03" this year, else with the year. */
export function localTime(value, { seconds = true } = {}) {
  const date = value instanceof Date ? value : parseTime(value);
  if (!date || Number.isNaN(date.getTime())) return "";
  const now = new Date();
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}${seconds ? ":" + pad(date.getSeconds()) : ""}`;
  if (date.toDateString() === now.toDateString()) return time;
  dayFormat ??= new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  const day = dayFormat.format(date);
  if (date.getFullYear() === now.getFullYear()) return `${day}, ${time}`;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

/** "12 s ago", "in 3 min", "2 h ago", "5 d ago". */
export function relative(value) {
  const date = value instanceof Date ? value : parseTime(value);
  if (!date) return "";
  const seconds = (date.getTime() - Date.now()) / 1000;
  const abs = Math.abs(seconds);
  let text;
  if (abs < 45) text = `${Math.max(1, Math.round(abs))} s`;
  else if (abs < 45 * 60) text = `${Math.round(abs / 60)} min`;
  else if (abs < 36 * 3600) text = `${Math.round(abs / 3600)} h`;
  else text = `${Math.round(abs / 86400)} d`;
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

/** A <time> element: local time, with the relative hint, full ISO on hover. */
export function timeEl(value, { hint = true, seconds = true } = {}) {
  if (!value) return h("span.faint", {}, "—");
  const date = parseTime(value);
  return h("time", { datetime: date.toISOString(), title: date.toString(), "data-relative": hint ? "1" : null },
    localTime(date, { seconds }), hint ? h("span.faint", {}, ` (${relative(date)})`) : null);
}

/** "850 ms", "12.3 s", "4 min 05 s", "2 h 01 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${pad(Math.round(seconds % 60))} s`;
  return `${Math.floor(m / 60)} h ${pad(m % 60)} min`;
}

/** Seconds between two timestamps; to now when the end is missing. */
export function elapsed(start, end) {
  if (!start) return null;
  const stop = end ? parseTime(end) : new Date();
  return (stop.getTime() - parseTime(start).getTime()) / 1000;
}

/** An axis tick in local time, as fine as its step (seconds) asks. */
function tickLabel(date, step) {
  const hms = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  if (step < 1) return `${hms}.${Math.floor(date.getMilliseconds() / 100)}`;
  if (step < 60) return hms;
  if (step < 86400) return hms.slice(0, 5);
  return `${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Keep server-rendered <time data-relative> hints fresh; localise server-rendered times,
 * and the SVG charts' axis ticks (<text data-at>) and bar titles (<title data-times>). */
export function localiseTimes(root = document) {
  for (const node of root.querySelectorAll("time[datetime]:not([data-localised])")) {
    const hint = node.dataset.relative === "1";
    node.replaceWith(timeEl(node.getAttribute("datetime"), { hint }));
  }
  for (const node of root.querySelectorAll("svg text[data-at]")) {
    node.textContent = tickLabel(new Date(node.dataset.at), Number(node.dataset.step));
  }
  for (const node of root.querySelectorAll("svg title[data-times]")) {
    const times = JSON.parse(node.dataset.times);
    node.textContent = node.textContent.split("\n").map((line) => {
      const word = line.split(" ")[0];
      return times[word] ? `${word} ${new Date(times[word]).toString()}` : line;
    }).join("\n");
  }
}
setInterval(() => {
  for (const node of document.querySelectorAll("time[data-relative='1'] > span.faint")) {
    node.textContent = ` (${relative(node.parentElement.getAttribute("datetime"))})`;
  }
}, 15000);

// ---- feedback ----

export function toast(message, { error = false, ms = 3500 } = {}) {
  const node = h(`div.toast${error ? ".error" : ""}`, { role: "status" }, message);
  document.body.append(node);
  setTimeout(() => node.remove(), ms);
}

/** Run an action for a button: disabled while it runs, errors shown as a toast. */
export async function act(button, action, done) {
  button.disabled = true;
  try {
    const result = await action();
    if (done) toast(done);
    return result;
  } catch (error) {
    toast(error.message, { error: true, ms: 6000 });
    return undefined;
  } finally {
    button.disabled = false;
  }
}

export const can = (role) => {
  const mine = document.body.dataset.role;
  const order = ["viewer", "op", "admin"];
  return order.indexOf(mine) >= order.indexOf(role) && order.indexOf(mine) >= 0;
};

/** Whether the user may edit (trigger, clear, mark, pause, backfill) DAG `dagId`: the API's
 * own per-DAG decision, which the page's server wrote in the body (`*`: every DAG). */
export const canEdit = (dagId) => {
  const editable = document.body.dataset.editable ?? "[]";
  if (editable === "*") return true;
  editableIds ??= new Set(JSON.parse(editable));
  return editableIds.has(dagId);
};
let editableIds = null;

/** Whether the user may edit any DAG (a list's bulk actions are offered). */
export const editsSome = () => {
  const editable = document.body.dataset.editable ?? "[]";
  return editable === "*" || editable !== "[]";
};

localiseTimes();

/** The list in an API answer: the answer itself, or its `key` (or `items`) member. */
export const listOf = (data, key) =>
  Array.isArray(data) ? data : (data?.[key] ?? data?.items ?? []);

/** The API query of a list page whose query (`page` too) is the URL's: its `page` turned
 * into the `limit` and `offset` of `perPage` items a page. */
export function pageQuery(query, perPage) {
  const asked = new URLSearchParams(query);
  const page = Math.max(1, Number(asked.get("page") ?? "1") || 1);
  asked.delete("page");
  asked.set("limit", String(perPage));
  asked.set("offset", String((page - 1) * perPage));
  return asked;
}

/** Links inside the app. */
export const links = {
  dag: (dagId, tab = "") => url(`dags/${enc(dagId)}${tab ? "/" + tab : ""}`),
  run: (dagId, runId) => url(`dags/${enc(dagId)}?run=${enc(runId)}`),
  task: (dagId, runId, taskId, tryNumber) =>
    url(`dags/${enc(dagId)}/runs/${enc(runId)}/tasks/${enc(taskId)}${tryNumber ? `?try=${tryNumber}` : ""}`),
  trigger: (dagId) => url(`dags/${enc(dagId)}/trigger`),
  version: (dagId, hash) => url(`dags/${enc(dagId)}/versions/${enc(hash)}`),
  runCode: (dagId, runId) => url(`dags/${enc(dagId)}/runs/${enc(runId)}/code`),
  mapped: (dagId, runId, taskId, mapIndex) =>
    url(`dags/${enc(dagId)}/runs/${enc(runId)}/tasks/${enc(taskId)}/mapped/${mapIndex}`),
};
