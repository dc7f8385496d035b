// The graph: drawn once from the layout the server computed (layout.py); polling only
// recolours the nodes, so the picture never jumps while a run progresses.
import { duration, enc, links, STATE_LABELS, stateClass, svg, TELLING_STATES } from "./core.js";

/** A smooth path through the edge's points: horizontal tangents at each point. */
function edgePath(points) {
  let d = `M${points[0][0]},${points[0][1]}`;
  for (let i = 1; i < points.length; i += 1) {
    const [x0, y0] = points[i - 1];
    const [x1, y1] = points[i];
    const bend = (x1 - x0) / 2;
    d += ` C${x0 + bend},${y0} ${x1 - bend},${y1} ${x1},${y1}`;
  }
  return d;
}

// Character widths of the label (12.5px) and the operator line (10.5px), as layout.py assumes.
const truncate = (text, width, charWidth = 7.2) => {
  const room = Math.floor((width - 20) / charWidth);
  return text.length > room ? text.slice(0, Math.max(1, room - 1)) + "…" : text;
};

/** A task group box (expanded): its label on top collapses it when clicked. */
function groupBox(group, onToggle) {
  const label = svg("text", {
    class: "group-label", x: 8, y: 13, tabindex: "0", role: "button",
    "aria-label": `collapse group ${group.id}`,
  }, `▾ ${group.label}`);
  label.onclick = () => onToggle?.(group.id, true);
  label.onkeydown = (event) => { if (event.key === "Enter") label.onclick(); };
  return svg("g", {
    class: "group-box", transform: `translate(${group.x},${group.y})`, "data-group-id": group.id,
  },
  svg("title", {}, group.tooltip ? `${group.id}\n${group.tooltip}` : group.id),
  svg("rect", { class: "frame", width: group.width, height: group.height }),
  label);
}

// What a collapsed group shows: the most telling state among its tasks (lifecycle.TELLING).

/** The aggregate state of a collapsed group's tasks in one run. */
export function groupState(states) {
  for (const state of TELLING_STATES) if (states.includes(state)) return state;
  if (states.length && states.every((s) => s === "skipped")) return "skipped";
  if (states.length && states.every((s) => s === "success" || s === "skipped")) return "success";
  return states.some((s) => s === "success" || s === "skipped") ? "running" : "none";
}

/** Draw the layout; a collapsed group (a node) expands and an expanded group's label
 * collapses it through `onToggle(groupId, collapse)`. */
export function renderGraph(container, layout, dagId, onToggle = null) {
  const marker = svg("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7",
    orient: "auto-start-reverse",
  }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#9aa3ad" }));
  // A fan's edges (a task joined to every task of a wrapped column) end at its frame: one
  // path for all of them, drawn once.
  const fanOf = new Map((layout.fans ?? []).map((fan) => [fan.id, fan]));
  const fanEdges = new Map();
  for (const edge of layout.edges.filter((e) => e.fan)) {
    const key = `${edge.fan}|${edge.points.map((p) => p.join(",")).join(" ")}`;
    if (!fanEdges.has(key)) fanEdges.set(key, edge);
  }
  const edges = [
    ...layout.edges.filter((edge) => !edge.fan).map((edge) =>
      svg("path", { class: "edge", d: edgePath(edge.points), "marker-end": "url(#arrow)", "data-source": edge.source, "data-target": edge.target })),
    ...[...fanEdges.values()].map((edge) => {
      const into = edge.points[edge.points.length - 1][0] === fanOf.get(edge.fan)?.x;
      return svg("path", {
        class: "edge fan-edge", d: edgePath(edge.points), "marker-end": "url(#arrow)", "data-fan": edge.fan,
        "data-source": into ? edge.source : edge.fan, "data-target": into ? edge.fan : edge.target,
      });
    }),
  ];
  const fans = (layout.fans ?? []).map((fan) => svg("g", {
    class: "fan-box", transform: `translate(${fan.x},${fan.y})`, "data-fan": fan.id, "data-tasks": fan.tasks,
  },
  svg("title", {}, `${fan.tasks} tasks that run in parallel, drawn in rows`),
  svg("rect", { class: "frame", width: fan.width, height: fan.height, rx: 6 }),
  svg("text", { class: "group-label", x: 8, y: 13 }, `${fan.tasks} parallel tasks`)));
  // A Label on an edge: its text at the middle of the edge's path.
  const edgeLabels = layout.edges.filter((edge) => edge.label).map((edge) => {
    const [x0, y0] = edge.points[0];
    const [x1, y1] = edge.points[edge.points.length - 1];
    return svg("text", {
      class: "edge-label", x: (x0 + x1) / 2, y: (y0 + y1) / 2 - 4, "text-anchor": "middle",
      "data-source": edge.source, "data-target": edge.target,
    }, edge.label);
  });
  const nodes = layout.nodes.map((node) => {
    const title = svg("title", {}, node.id);
    if (node.kind === "group") {
      const group = svg("g", {
        class: "node group-node st-none", transform: `translate(${node.x},${node.y})`,
        "data-group-id": node.id, "data-members": JSON.stringify(node.members),
        "data-state": "none", tabindex: "0", role: "button", "aria-label": `expand group ${node.id}`,
      },
      title,
      svg("rect", { class: "box", width: node.width, height: node.height }),
      svg("rect", { class: "bar", x: 3, y: 4, width: 4, height: node.height - 8 }),
      svg("text", { x: 14, y: 16 }, truncate(`▸ ${node.label}`, node.width)),
      svg("text", { class: "op", x: 14, y: 30 }, truncate(node.sublabel, node.width, 6.1)));
      group.onclick = () => onToggle?.(node.id, false);
      group.onkeydown = (event) => { if (event.key === "Enter") group.onclick(); };
      return group;
    }
    return svg("g", {
      class: "node st-none", transform: `translate(${node.x},${node.y})`, "data-task-id": node.id,
      "data-state": "none", tabindex: "0", role: "link",
    },
    title,
    svg("rect", { class: "box", width: node.width, height: node.height }),
    svg("rect", { class: "bar", x: 3, y: 4, width: 4, height: node.height - 8 }),
    svg("text", { x: 14, y: node.sublabel ? 16 : node.height / 2 + 4 }, truncate(node.label ?? node.id, node.width)),
    node.sublabel ? svg("text", { class: "op", x: 14, y: 30 }, truncate(node.sublabel, node.width, 6.1)) : null);
  });
  const picture = svg("svg", {
    class: "graph", width: layout.width, height: layout.height,
    viewBox: `0 0 ${layout.width} ${layout.height}`, role: "img", "aria-label": `Tasks of ${dagId}`,
  }, svg("defs", {}, marker), ...(layout.groups ?? []).map((g) => groupBox(g, onToggle)),
  ...fans, ...edges, ...edgeLabels, ...nodes);
  container.replaceChildren(picture);
}

/** Colour every node by its state in `run`, and make it open that task instance. */
export function colourGraph(container, grid, run, dagId) {
  for (const node of container.querySelectorAll("g.group-node")) {
    const members = JSON.parse(node.dataset.members);
    const states = members.map((id) => run?.tis?.[id]?.state ?? "none");
    const state = groupState(states);
    node.setAttribute("class", `node group-node ${stateClass(state)}`);
    node.dataset.state = state;
    node.querySelector("title").textContent = `${node.dataset.groupId} (${members.length} tasks)\n` +
      `${STATE_LABELS[state] ?? state}\nclick to expand`;
  }
  for (const node of container.querySelectorAll("g.node:not(.group-node)")) {
    const taskId = node.dataset.taskId;
    const ti = run?.tis?.[taskId];
    const state = ti?.state ?? "none";
    node.setAttribute("class", `node ${stateClass(state)}`);
    node.dataset.state = state;
    node.querySelector("title").textContent =
      `${taskId}\n${STATE_LABELS[state] ?? state}${ti?.duration ? " · " + duration(ti.duration) : ""}` +
      (run ? `\n${run.run_id}` : "");
    node.onclick = run ? () => { location.href = links.task(dagId, run.run_id, taskId); } : null;
    node.onkeydown = (event) => { if (event.key === "Enter") node.onclick?.(); };
  }
  if (run) history.replaceState(null, "", `?run=${enc(run.run_id)}`);
}
