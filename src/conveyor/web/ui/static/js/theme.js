// Light or dark: the user's choice (kept in localStorage), else the system's
// (prefers-color-scheme). A classic script in <head>, so the page is painted in its theme.
(() => {
  const KEY = "conveyor-theme";
  const root = document.documentElement;
  const system = window.matchMedia("(prefers-color-scheme: dark)");
  const chosen = () => { try { return localStorage.getItem(KEY); } catch { return null; } };
  const apply = () => { root.dataset.theme = chosen() || (system.matches ? "dark" : "light"); };
  apply();
  system.addEventListener("change", apply);
  document.addEventListener("DOMContentLoaded", () => {
    const toggle = document.getElementById("theme-toggle");
    if (!toggle) return;
    const label = () => {
      const dark = root.dataset.theme === "dark";
      toggle.setAttribute("aria-pressed", String(dark));
      toggle.title = dark ? "Dark mode: on (click for light)" : "Dark mode: off (click for dark)";
    };
    label();
    toggle.addEventListener("click", () => {
      const next = root.dataset.theme === "dark" ? "light" : "dark";
      try { localStorage.setItem(KEY, next); } catch { /* private mode: this page only */ }
      root.dataset.theme = next;
      label();
    });
  });
})();
