// A list page whose filters, sort and page live in the URL (so a view can be shared): the
// filter form reads and writes the query string, the API gets the same parameters, rows can
// be selected for bulk actions (op and admin), and the list stays live.
import { api, editsSome, fill, h, live, pageQuery } from "./core.js";

const DATE_FIELDS = ["logical_date", "start_date", "end_date"];

const pad = (n) => String(n).padStart(2, "0");
/** An ISO time as a datetime-local input's value, in the browser's zone. */
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The form's fields from the URL's query. */
function formFromQuery(form, query) {
  for (const field of form.elements) {
    if (!field.name || ["date_field", "from", "to"].includes(field.name)) continue;
    field.value = query.get(field.name) ?? (field.tagName === "SELECT" ? field.options[0]?.value ?? "" : "");
  }
  const dateField = form.elements.namedItem("date_field");
  if (!dateField) return;
  const chosen = DATE_FIELDS.find((f) => query.has(`${f}_gte`) || query.has(`${f}_lte`)) ?? dateField.value;
  dateField.value = chosen;
  form.elements.namedItem("from").value = query.has(`${chosen}_gte`) ? toLocalInput(query.get(`${chosen}_gte`)) : "";
  form.elements.namedItem("to").value = query.has(`${chosen}_lte`) ? toLocalInput(query.get(`${chosen}_lte`)) : "";
}

/** The URL's query from the form (empty fields left out; page 1 again). */
function queryFromForm(form) {
  const query = new URLSearchParams();
  for (const field of form.elements) {
    if (!field.name || ["date_field", "from", "to"].includes(field.name) || !field.value) continue;
    if (field.dataset.default === field.value) continue;
    query.set(field.name, field.value);
  }
  const dateField = form.elements.namedItem("date_field");
  if (dateField) {
    const from = form.elements.namedItem("from").value;
    const to = form.elements.namedItem("to").value;
    if (from) query.set(`${dateField.value}_gte`, new Date(from).toISOString());
    if (to) query.set(`${dateField.value}_lte`, new Date(to).toISOString());
  }
  return query;
}

function pageLink(query, page, label, enabled) {
  const next = new URLSearchParams(query);
  if (page > 1) next.set("page", String(page)); else next.delete("page");
  return enabled ? h("a.button", { href: `?${next}`, "data-page": page }, label) : h("button", { type: "button", disabled: true }, label);
}

/**
 * Make the page's list live.
 * path: API list path; itemsKey: the list member of the answer; key(item): a stable id;
 * cells(item): the row's cells; attrs(item): the row's data attributes; noun: "runs";
 * bulk: [{label, action, cls, run(items, done)}] buttons for the selected rows (op only).
 */
export function listPage({ path, itemsKey, key, cells, attrs, noun, columns, bulk = [], perPage = 50, shortcut }) {
  const form = document.getElementById("filters");
  const rows = document.getElementById("list-rows");
  const selectable = editsSome() && bulk.length > 0;
  const selected = new Map(); // key -> item
  let last = "";
  let query = new URLSearchParams(location.search);

  const headCheck = selectable ? h("input", { type: "checkbox", "aria-label": "Select every row on this page", "data-select": "page" }) : null;
  fill("list-head", h("tr", {}, selectable ? h("th", { style: "width: 28px" }, headCheck) : null, columns.map((c) => h("th", {}, c))));
  const bar = document.getElementById("bulk-bar");
  const barCount = h("span", { id: "bulk-count" });
  const done = () => { selected.clear(); last = ""; reload(); };
  if (selectable) {
    fill(bar, barCount, bulk.map((b) => h(`button${b.cls ?? ""}`, {
      type: "button", "data-bulk": b.action, onclick: () => b.run([...selected.values()], done),
    }, b.label)), h("button.link", { type: "button", onclick: () => { selected.clear(); draw(JSON.parse(last || "null")); } }, "Select none"));
  }
  const updateBar = () => {
    if (!selectable) return;
    bar.classList.toggle("hidden", selected.size === 0);
    barCount.textContent = `${selected.size} selected`;
  };

  function draw(data) {
    if (!data) return;
    const items = data[itemsKey] ?? [];
    const page = Number(query.get("page") ?? "1");
    const span = selectable ? columns.length + 1 : columns.length;
    if (!items.length) {
      fill(rows, h("tr", {}, h("td.empty", { colspan: span }, query.toString() ? `No ${noun} match these filters.` : `No ${noun} yet.`)));
    } else {
      fill(rows, items.map((item) => {
        const id = key(item);
        const check = selectable ? h("input", {
          type: "checkbox", checked: selected.has(id), "aria-label": `Select ${id}`, "data-select": "row",
          onchange: (event) => { if (event.target.checked) selected.set(id, item); else selected.delete(id); updateBar(); },
        }) : null;
        return h("tr", { "data-key": id, ...attrs(item) }, check ? h("td", {}, check) : null, cells(item));
      }));
    }
    if (headCheck) {
      headCheck.checked = items.length > 0 && items.every((item) => selected.has(key(item)));
      headCheck.onchange = () => {
        for (const item of items) {
          if (headCheck.checked) selected.set(key(item), item); else selected.delete(key(item));
        }
        draw(data);
      };
    }
    const pages = Math.max(1, Math.ceil(data.total / perPage));
    fill("list-summary", `${data.total} ${noun}`);
    fill("pager", pageLink(query, page - 1, "‹ Previous", page > 1),
      h("span.muted", { id: "page-of" }, `page ${page} of ${pages}`),
      pageLink(query, page + 1, "Next ›", page < pages));
    updateBar();
  }

  async function load() {
    const asked = pageQuery(query, perPage);
    let data;
    try {
      data = await api(`${path}?${asked}`);
    } catch (error) {
      if (error.status !== 422) throw error;
      fill(rows, h("tr", {}, h("td.empty.error", { colspan: columns.length + 1, id: "list-error" }, error.message)));
      return;
    }
    const text = JSON.stringify(data);
    if (text === last) return;
    last = text;
    draw(data);
  }

  function go(next, push = true) {
    query = next;
    if (push) history.pushState(null, "", `${location.pathname}${next.toString() ? "?" + next : ""}`);
    last = "";
    reload();
  }

  function reload() {
    load().catch((error) => fill(rows, h("tr", {}, h("td.empty.error", { colspan: columns.length + 1 }, error.message))));
  }

  formFromQuery(form, query);
  document.getElementById("filter-fields").disabled = false;
  form.addEventListener("submit", (event) => { event.preventDefault(); go(queryFromForm(form)); });
  form.addEventListener("change", (event) => { if (event.target.tagName === "SELECT" && event.target.name !== "date_field") go(queryFromForm(form)); });
  document.getElementById("pager").addEventListener("click", (event) => {
    const link = event.target.closest("a[data-page]");
    if (!link) return;
    event.preventDefault();
    go(new URLSearchParams(link.getAttribute("href").slice(1)));
  });
  if (shortcut) {
    document.getElementById(shortcut.id)?.addEventListener("click", () => {
      formFromQuery(form, shortcut.query());
      go(queryFromForm(form));
    });
  }
  window.addEventListener("popstate", () => {
    query = new URLSearchParams(location.search);
    formFromQuery(form, query);
    go(query, false);
  });
  live(load, { interval: 2000 });
}

/** The query of the "failed in the last 24 hours" shortcut. */
export function failedLastDay(dateField = "end_date") {
  const since = new Date(Date.now() - 24 * 3600 * 1000);
  return new URLSearchParams({ state: "failed", [`${dateField}_gte`]: since.toISOString() });
}
