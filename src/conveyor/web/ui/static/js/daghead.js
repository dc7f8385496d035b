// A DAG page's header kept live: paused or active (the switch and its label) and the next
// run, from the same DAG endpoint the API serves; a change made elsewhere (another tab, the
// CLI, another user) shows without a reload.
import { api, enc, fill, h, live, timeEl } from "./core.js";

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
