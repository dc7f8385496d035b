// Zoom and pan for the graph: the drawing keeps its layout coordinates and only the SVG's
// viewBox changes, so a zoom costs nothing however many tasks there are. Buttons, the
// wheel (at the pointer), dragging, and the keys + - 0 (fit) 1 (actual size).

const MIN_SCALE = 0.05;
const MAX_SCALE = 4;
const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

/** Make `container`'s SVG of a `width` x `height` layout zoomable; opens fitted. */
export function zoomable(container, width, height) {
  const picture = container.querySelector("svg");
  if (!picture) return null;
  // The box is as tall as the drawing, up to the bottom of the window; bigger drawings are
  // fitted into it.
  const top = container.getBoundingClientRect().top + window.scrollY;
  const room = Math.max(300, window.innerHeight - top - 24);
  const tall = Math.round(Math.max(160, Math.min(height + 4, room)));
  container.style.height = `${tall}px`;
  picture.setAttribute("width", "100%");
  picture.setAttribute("height", "100%");
  picture.setAttribute("preserveAspectRatio", "xMinYMin meet");
  const view = { scale: 1, x: 0, y: 0 }; // screen = (layout - x) * scale
  const box = () => ({ w: container.clientWidth || 800, h: container.clientHeight || tall });
  const label = document.getElementById("graph-zoom-level");

  function apply() {
    const { w, h } = box();
    picture.setAttribute("viewBox", `${view.x} ${view.y} ${w / view.scale} ${h / view.scale}`);
    container.dataset.zoom = view.scale.toFixed(3);
    if (label) label.textContent = `${Math.round(view.scale * 100)}%`;
  }
  function zoomAt(factor, sx, sy) {
    const scale = clamp(view.scale * factor, MIN_SCALE, MAX_SCALE);
    // The layout point under (sx, sy) stays there.
    view.x += sx / view.scale - sx / scale;
    view.y += sy / view.scale - sy / scale;
    view.scale = scale;
    container.dataset.fitted = "false";
    apply();
  }
  function fit() {
    const { w, h } = box();
    view.scale = clamp(Math.min(w / width, h / height, 1), MIN_SCALE, MAX_SCALE);
    view.x = -(w / view.scale - width) / 2;
    view.y = -(h / view.scale - height) / 2;
    container.dataset.fitted = "true";
    apply();
  }
  function actual() {
    view.scale = 1; view.x = 0; view.y = 0;
    container.dataset.fitted = "false";
    apply();
  }
  const centre = () => { const { w, h } = box(); return [w / 2, h / 2]; };

  container.onwheel = (event) => {
    event.preventDefault();
    const rect = container.getBoundingClientRect();
    zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - rect.left, event.clientY - rect.top);
  };
  // Dragging pans; a drag that moved does not also click the task it started on.
  let drag = null;
  container.onpointerdown = (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, vx: view.x, vy: view.y, moved: false };
  };
  const move = (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    drag.moved = true;
    container.classList.add("panning");
    view.x = drag.vx - dx / view.scale;
    view.y = drag.vy - dy / view.scale;
    container.dataset.fitted = "false";
    apply();
  };
  let panned = false;
  container.addEventListener("click", (event) => { if (panned) event.stopPropagation(); }, { capture: true });
  const up = () => {
    if (drag?.moved) {
      container.classList.remove("panning");
      panned = true; // until the click this release makes has gone by
      setTimeout(() => { panned = false; }, 0);
    }
    drag = null;
  };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", up);
  container.onkeydown = (event) => {
    if (event.target !== container) return;
    const actions = { "+": () => zoomAt(1.25, ...centre()), "=": () => zoomAt(1.25, ...centre()),
      "-": () => zoomAt(0.8, ...centre()), "0": fit, "1": actual };
    if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
  };
  const buttons = {
    "graph-zoom-in": () => zoomAt(1.25, ...centre()),
    "graph-zoom-out": () => zoomAt(0.8, ...centre()),
    "graph-fit": fit,
    "graph-actual": actual,
  };
  for (const [id, action] of Object.entries(buttons)) {
    const button = document.getElementById(id);
    if (button) button.onclick = action;
  }
  fit();
  const controls = {
    fit, actual, zoomAt,
    release() { window.removeEventListener("pointermove", move); window.removeEventListener("pointerup", up); },
  };
  return controls;
}
