// The admin pages' forms and buttons: each calls the JSON API (with the session's CSRF
// token, through core.js) and reloads the page on success, so what the page shows is always
// what the store holds. Forms describe their call in data attributes:
//   form.api-form[data-method][data-path="pools/{name}"]: fields become the JSON body
//     (data-type="int" | "json" | "bool"; data-optional: left out when empty;
//     data-path-only: used in the path only); data-show="id": show the answer there
//   button[data-delete="pools/x"][data-confirm="..."]: DELETE after a confirmation
//   button[data-edit="form-id"][data-values="{json}"]: fill that form to change a row
//   select[data-role-of="name"]: PATCH users/{name} {role}
//   button[data-delete-permission="role"][data-action][data-resource]: take a permission back
//   button[data-test-conn="id"]: POST connections/{id}/test, the answer shown beside it
//   script#conn-forms: each connection type's labels, placeholders, hidden fields and extra
//     keys (declared by its provider); the connection form follows the type typed in it
import { ApiError, api, enc, toast } from "./core.js";

function value(field) {
  const type = field.dataset.type;
  if (type === "bool") return field.type === "checkbox" ? field.checked : field.value === "true";
  const text = field.value.trim();
  if (text === "") return field.dataset.optional !== undefined ? undefined : (type === "int" ? null : "");
  if (type === "int") {
    const number = Number(text);
    if (!Number.isInteger(number)) throw new Error(`${field.name}: a whole number, please`);
    return number;
  }
  if (type === "json") {
    try { return JSON.parse(text); } catch (error) { throw new Error(`${field.name}: not JSON (${error.message})`); }
  }
  return field.value;
}

function request(form) {
  const body = {};
  const pathValues = {};
  for (const field of form.querySelectorAll("input[name], select[name], textarea[name]")) {
    const found = value(field);
    if (field.dataset.pathOnly !== undefined) { pathValues[field.name] = field.value.trim(); continue; }
    if (found !== undefined) body[field.name] = found;
  }
  const path = form.dataset.path.replace(/\{(\w+)\}/g, (_, name) => enc(pathValues[name] ?? ""));
  return { path, body };
}

function showError(form, error) {
  const box = form.querySelector(".form-error");
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  if (box) { box.textContent = message; box.classList.remove("hidden"); } else toast(message, { error: true });
}

for (const form of document.querySelectorAll("form.api-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    form.querySelector(".form-error")?.classList.add("hidden");
    button.disabled = true;
    try {
      const { path, body } = request(form);
      const answer = await api(path, { method: form.dataset.method, body });
      const target = form.dataset.show && document.getElementById(form.dataset.show);
      if (target && answer?.password) {
        // Shown once, after the reload that lists the new user (kept for this tab only).
        sessionStorage.setItem(`conveyor-shown:${target.id}`,
          `User ${answer.username} (${answer.role}) created. Password, shown once: ${answer.password}`);
        location.reload();
      } else {
        sessionStorage.setItem("conveyor-flash", form.dataset.done || "Saved.");
        location.reload();
      }
    } catch (error) {
      showError(form, error);
    } finally {
      button.disabled = false;
    }
  });
  form.addEventListener("reset", () => {
    for (const field of form.querySelectorAll("[data-path-only]")) field.readOnly = false;
    const title = document.querySelector(`[data-form-title="${form.id}"]`);
    if (title?.dataset.original) title.textContent = title.dataset.original;
  });
}

for (const button of document.querySelectorAll("button[data-edit]")) {
  button.addEventListener("click", () => {
    const form = document.getElementById(button.dataset.edit);
    form.reset();
    const values = JSON.parse(button.dataset.values);
    for (const [name, given] of Object.entries(values)) {
      const field = form.querySelector(`[name="${name}"]`);
      if (!field) continue;
      if (field.type === "checkbox") field.checked = Boolean(given);
      else field.value = given ?? "";
      if (field.dataset.pathOnly !== undefined) field.readOnly = true;
    }
    const title = document.querySelector(`[data-form-title="${form.id}"]`);
    if (title) {
      title.dataset.original ??= title.textContent;
      title.textContent = `Change ${Object.values(values)[0]}`;
    }
    form.scrollIntoView({ block: "center" });
    form.querySelector("input:not([readonly]):not([type=hidden]), textarea")?.focus();
  });
}

for (const button of document.querySelectorAll("button[data-delete]")) {
  button.addEventListener("click", async () => {
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    button.disabled = true;
    try {
      await api(button.dataset.delete, { method: "DELETE" });
      sessionStorage.setItem("conveyor-flash", "Deleted.");
      location.reload();
    } catch (error) {
      toast(error.message, { error: true, ms: 6000 });
      button.disabled = false;
    }
  });
}

for (const button of document.querySelectorAll("button[data-delete-permission]")) {
  button.addEventListener("click", async () => {
    const { deletePermission: role, action, resource } = button.dataset;
    button.disabled = true;
    try {
      await api(`roles/${enc(role)}/permissions`, { method: "DELETE", body: { action, resource } });
      sessionStorage.setItem("conveyor-flash", `Took ${action} on ${resource} from ${role}.`);
      location.reload();
    } catch (error) {
      toast(error.message, { error: true, ms: 6000 });
      button.disabled = false;
    }
  });
}

// A user's roles: one built-in role (or none) and any named roles, set together (PUT
// users/{name}/roles) whenever the menu or a named role's box changes.
for (const select of document.querySelectorAll("select[data-role-of]")) {
  const username = select.dataset.roleOf;
  const boxes = [...document.querySelectorAll(`[data-named-roles-of="${CSS.escape(username)}"] input[type=checkbox]`)];
  const held = () => [select.value, ...boxes.filter((b) => b.checked).map((b) => b.value)];
  let was = held();
  const controls = [select, ...boxes];
  const save = async () => {
    controls.forEach((c) => { c.disabled = true; });
    const roles = held();
    try {
      const answer = await api(`users/${enc(username)}/roles`, { method: "PUT", body: { roles } });
      was = roles;
      toast(`${username} now holds ${answer.roles.join(", ") || "no role"}.`);
    } catch (error) {
      select.value = was[0];
      for (const box of boxes) box.checked = was.includes(box.value);
      toast(error.message, { error: true, ms: 6000 });
    } finally {
      controls.forEach((c) => { c.disabled = false; });
    }
  };
  controls.forEach((c) => c.addEventListener("change", save));
}

for (const target of document.querySelectorAll("[id]")) {
  const key = `conveyor-shown:${target.id}`;
  const shown = target.classList.contains("flash") ? sessionStorage.getItem(key) : null;
  if (shown === null) continue;
  sessionStorage.removeItem(key);
  target.textContent = shown;
  target.classList.remove("hidden");
}

const flash = sessionStorage.getItem("conveyor-flash");
if (flash) { sessionStorage.removeItem("conveyor-flash"); toast(flash); }

for (const button of document.querySelectorAll("button[data-test-conn]")) {
  button.addEventListener("click", async () => {
    const shown = button.parentElement.querySelector(".conn-test-result");
    button.disabled = true;
    shown.textContent = "testing…";
    shown.className = "conn-test-result muted";
    try {
      const result = await api(`connections/${enc(button.dataset.testConn)}/test`, { method: "POST" });
      shown.textContent = result.message;
      shown.className = `conn-test-result ${result.status ? "ok" : "error"}`;
      shown.dataset.status = result.status ? "ok" : "failed";
    } catch (error) {
      shown.textContent = error.message;
      shown.className = "conn-test-result error";
      shown.dataset.status = "refused";
    } finally {
      button.disabled = false;
    }
  });
}

// The connection form follows its type: labels and placeholders as the type's provider
// declares them, the fields it does not read hidden (unless they hold a value), and an
// example of the extra keys it reads.
const connForms = document.getElementById("conn-forms");
const connType = document.getElementById("conn-type");
if (connForms && connType) {
  const forms = JSON.parse(connForms.textContent);
  const fields = ["host", "port", "login", "password", "schema", "extra"].map((name) => {
    const input = document.getElementById(`conn-${name}`);
    const label = document.querySelector(`label[for="conn-${name}"]`);
    return { name, input, label, text: label.textContent, placeholder: input.placeholder };
  });
  const follow = () => {
    const form = forms[connType.value.trim().toLowerCase().replaceAll("-", "_")];
    for (const field of fields) {
      const declared = form?.fields[field.name];
      field.label.textContent = declared?.label ?? field.text;
      field.input.placeholder = declared?.placeholder || field.placeholder;
      const hidden = Boolean(form?.hidden.includes(field.name)) && field.input.value === "";
      field.input.closest(".field").hidden = hidden;
    }
    const extra = fields.find((field) => field.name === "extra");
    if (form && form.extras.length) {
      extra.input.placeholder = JSON.stringify(form.extra_example);
      extra.label.textContent = `Extra (JSON object: ${form.extras.map((e) => e.name).join(", ")})`;
    }
  };
  connType.addEventListener("input", follow);
  connType.addEventListener("change", follow);
  for (const button of document.querySelectorAll('button[data-edit="conn-form"]')) {
    button.addEventListener("click", () => setTimeout(follow));
  }
  follow();
}
