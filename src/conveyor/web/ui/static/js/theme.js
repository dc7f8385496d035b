// Light or dark: the user's choice (kept in localStorage), else the system's
// (prefers-color-scheme). A classic script in <head>, so the page is painted in its theme.
(() => {
  const KEY = "conveyor-theme";
  const root = document.documentElement;
  const system = window.matchMedia("(prefers-color-scheme: dark)");
  const chosen = () => { try { return localStorage.getItem(KEY); } catch { return null; } };
  const toggle = () => document.getElementById("theme-toggle");
  const label = () => {
    const button = toggle();
    if (!button) return;
    const dark = root.dataset.theme === "dark";
    button.setAttribute("aria-pressed", String(dark));
    button.title = dark ? "Dark mode: on (click for light)" : "Dark mode: off (click for dark)";
  };
  const apply = () => {
    root.dataset.theme = chosen() || (system.matches ? "dark" : "light");
    label();
  };
  apply();
  system.addEventListener("change", apply);
  document.addEventListener("DOMContentLoaded", label);
  // Listened for on the document, not the button: the button is shown (and clicked) while
  // the page's deferred scripts may still be loading, before DOMContentLoaded.
  document.addEventListener("click", (event) => {
    if (!(event.target instanceof Element) || !event.target.closest("#theme-toggle")) return;
    const next = root.dataset.theme === "dark" ? "light" : "dark";
    try { localStorage.setItem(KEY, next); } catch { /* private mode: this page only */ }
    root.dataset.theme = next;
    label();
  });
})();
