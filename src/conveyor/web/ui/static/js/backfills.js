// The DAG page's backfills panel: the DAG's backfills from the API, polled; an op or admin
// gets Pause or Unpause and Cancel on each backfill that has not completed.
import { act, api, enc, fill, h, live, timeEl } from "./core.js";

const panel = document.getElementById("backfills");
// On a phone-wide window the panel starts folded: open, it pushes the grid off the first screen.
if (panel && window.matchMedia("(max-width: 600px)").matches) panel.open = false;

/** What a backfill is doing, in a word: completed, paused or running. */
function stateOf(backfill) {
  if (backfill.completed_at) return "completed";
  return backfill.is_paused ? "paused" : "running";
}

function runsText(runs) {
  const parts = Object.entries(runs).sort(([a], [b]) => a.localeCompare(b));
  return parts.length ? parts.map(([state, n]) => `${state} ${n}`).join(", ") : "none";
}

function buttons(backfill, refresh) {
  if (panel.dataset.canAct !== "1") return null;
  if (backfill.completed_at) return h("td");
  const base = `dags/${enc(panel.dataset.dagId)}/backfills/${backfill.id}`;
  const button = (label, verb, done, confirmText) => {
    const node = h("button", { type: "button", "data-action": verb }, label);
    node.addEventListener("click", async () => {
      if (confirmText && !window.confirm(confirmText)) return;
      await act(node, () => api(`${base}/${verb}`, { method: "POST" }), done);
      refresh();
    });
    return node;
  };
  return h(
    "td.actions",
    {},
    backfill.is_paused
      ? button("Unpause", "unpause", `Backfill ${backfill.id} unpaused`)
      : button("Pause", "pause", `Backfill ${backfill.id} paused`),
    " ",
    button(
      "Cancel",
      "cancel",
      `Backfill ${backfill.id} cancelled`,
      `Cancel backfill ${backfill.id}? Its runs that have not started fail; running runs go on.`,
    ),
  );
}

if (panel) {
  const body = panel.querySelector("tbody");
  const poller = live(async () => {
    const found = await api(`dags/${enc(panel.dataset.dagId)}/backfills`);
    if (!found.backfills.length) {
      fill(body, h("tr.empty", {}, h("td.muted", { colspan: 9 }, "No backfill yet.")));
      return;
    }
    fill(
      body,
      found.backfills.map((b) =>
        h(
          "tr",
          { "data-backfill-id": String(b.id), "data-state": stateOf(b) },
          h("td", {}, String(b.id)),
          h("td", {}, timeEl(b.from_date, { hint: false })),
          h("td", {}, timeEl(b.to_date, { hint: false })),
          h("td", {}, String(b.max_active_runs)),
          h("td.runs", {}, runsText(b.runs)),
          h("td.state", {}, stateOf(b)),
          h("td", {}, b.triggering_user_name ?? ""),
          h("td", {}, timeEl(b.created_at)),
          buttons(b, () => poller.refresh()),
        ),
      ),
    );
  });
}
