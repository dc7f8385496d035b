// Durations over runs: one bar per run (whole run, or one task's try), coloured by state.
import { duration, fill, h, links, localTime, svg } from "./core.js";

const HEIGHT = 260;
const PAD = { left: 64, right: 16, top: 12, bottom: 34 };

/** Round axis steps: 1, 2, 5 x 10^n seconds, or minutes and hours. */
function niceStep(max) {
  const raw = max / 4;
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
  return steps.find((s) => s >= raw) ?? raw;
}

export function renderDurations(container, grid, dagId, taskId) {
  const points = grid.runs.map((run) => {
    if (!taskId) return { run, state: run.state, seconds: run.duration, href: links.run(dagId, run.run_id) };
    const ti = run.tis[taskId];
    return { run, state: ti?.state ?? "none", seconds: ti?.duration ?? null, href: links.task(dagId, run.run_id, taskId) };
  });
  const measured = points.filter((p) => p.seconds !== null && p.seconds !== undefined);
  if (!measured.length) {
    fill(container, h("div.empty", {}, taskId ? `No try of ${taskId} has run yet.` : "No run has started yet."));
    return;
  }
  const width = Math.max(480, container.clientWidth || 900);
  const max = Math.max(...measured.map((p) => p.seconds), 0.001);
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / points.length;
  const barW = Math.max(3, Math.min(28, slot * 0.7));
  const y = (s) => PAD.top + plotH - (s / top) * plotH;

  const ticks = [];
  for (let s = 0; s <= top + 1e-9; s += step) {
    ticks.push(svg("line", { class: "grid-line", x1: PAD.left, x2: width - PAD.right, y1: y(s), y2: y(s) }));
    ticks.push(svg("text", { x: PAD.left - 8, y: y(s) + 4, "text-anchor": "end" }, s === 0 ? "0" : duration(s)));
  }
  const bars = points.map((p, i) => {
    if (p.seconds === null || p.seconds === undefined) return null;
    const x = PAD.left + i * slot + (slot - barW) / 2;
    const barH = Math.max(1, (p.seconds / top) * plotH);
    const bar = svg("rect", {
      class: "dur", x, y: PAD.top + plotH - barH, width: barW, height: barH, rx: 2,
      style: `fill: var(--st-${p.state || "none"})`, "data-run-id": p.run.run_id,
      onclick: () => { location.href = p.href; },
    }, svg("title", {}, `${p.run.run_id}\n${p.state} · ${duration(p.seconds)}\n${localTime(p.run.logical_date)}`));
    return bar;
  });
  const every = Math.max(1, Math.ceil(points.length / 8));
  const labels = points.map((p, i) => (i % every === 0
    ? svg("text", { x: PAD.left + i * slot + slot / 2, y: HEIGHT - 12, "text-anchor": "middle" },
      localTime(p.run.logical_date, { seconds: false }))
    : null));
  const mean = measured.reduce((sum, p) => sum + p.seconds, 0) / measured.length;
  const sorted = measured.map((p) => p.seconds).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  fill(container,
    svg("svg", { class: "chart", width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}` },
      ...ticks,
      svg("line", { x1: PAD.left, x2: width - PAD.right, y1: y(0), y2: y(0), stroke: "#c9ced4" }),
      ...bars, ...labels),
    h("div.muted", { style: "margin-top: .4rem; font-size: .85rem" },
      `${measured.length} ${taskId ? "tries" : "runs"} · median ${duration(median)} · mean ${duration(mean)} · longest ${duration(max)}`));
}
