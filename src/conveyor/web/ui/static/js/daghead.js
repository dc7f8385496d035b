// A DAG page's header kept live: paused or active (the switch and its label) and the next
// run, from the same DAG endpoint the API serves; a change made elsewhere (another tab, the
// CLI, another user) shows without a reload. The DAG page imports it; the version pages,
// which have the same header but no script of their own, load it alone (#dag-head-data).
import { act, api, embedded, enc, fill, h, live, timeEl } from "./core.js";

const HEADER_MS = 3000;

/** Poll `dags/{dagId}` and redraw the header; the switch is left alone while it is busy. */
export function liveHeader(dagId) {
  const pause = document.getElementById("pause-switch");
  const label = document.getElementById("pause-label");
  // act() disables the switch while its PATCH runs; a viewer's switch is disabled for good.
  const locked = pause?.disabled ?? true;
  const busy = () => !locked && pause.disabled;
  return live(async () => {
    const dag = await api(`dags/${enc(dagId)}`);
    // A switch being toggled is disabled until its call returns: leave it to that call.
    if (busy()) return;
    if (pause) pause.checked = !dag.is_paused;
    if (label) label.textContent = dag.is_paused ? "paused" : "active";
    const next = document.getElementById("next-run");
    if (next) {
      if (dag.is_paused) fill(next, h("span.faint", {}, "paused"));
      else if (dag.next_run_after) fill(next, timeEl(dag.next_run_after));
      else fill(next, h("span.faint", {}, "—"));
    }
  }, { interval: HEADER_MS, now: false });
}

/** The pause switch: PATCH the DAG when it is flipped (a viewer's is disabled). */
export function wirePause(dagId) {
  const pause = document.getElementById("pause-switch");
  pause?.addEventListener("change", async () => {
    const paused = !pause.checked;
    const done = await act(pause, () =>
      api(`dags/${enc(dagId)}`, { method: "PATCH", body: { is_paused: paused } }),
      `${dagId} ${paused ? "paused" : "unpaused"}`);
    if (done === undefined) pause.checked = paused;
    else document.getElementById("pause-label").textContent = paused ? "paused" : "active";
  });
}

/** The whole header of a page that has no script of its own. */
if (document.getElementById("dag-head-data")) {
  const { dag_id: dagId } = embedded("dag-head-data");
  if (document.getElementById("pause-switch")) {
    wirePause(dagId);
    liveHeader(dagId);
  }
}
