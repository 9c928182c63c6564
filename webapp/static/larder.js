// Larder's page helpers (docs/interface.md), loaded in <head> of every page: no inline
// script (the Content-Security-Policy forbids it), no library.
// - the light/dark switch: "auto" follows the system; a choice is kept in localStorage
//   and applied before the page paints (this file runs before <body>);
// - the back-office menu (<details>) closes on Escape and on a click elsewhere;
// - tables with class "sortable": header buttons sort the rows, aria-sort says how.
(function () {
  "use strict";
  var KEY = "larder-theme";
  var root = document.documentElement;

  // The words scripts write, in the shop's language: <html data-larder-words> (base.html)
  // maps the English text to its translation (webapp/i18n.py JS_WORDS); absent: English.
  var words = {};
  try { words = JSON.parse(root.getAttribute("data-larder-words") || "{}") || {}; } catch (e) { /* English */ }
  function larderT(text, values) {
    var out = words[text] || text;
    Object.keys(values || {}).forEach(function (name) { out = out.split("%(" + name + ")s").join(values[name]); });
    return out;
  }
  window.larderT = larderT;

  function stored() {
    try { return localStorage.getItem(KEY) || "auto"; } catch (e) { return "auto"; }
  }
  function apply(theme) {
    if (theme === "light" || theme === "dark") root.setAttribute("data-theme", theme);
    else root.removeAttribute("data-theme");
  }
  apply(stored());

  var NEXT = { auto: "dark", dark: "light", light: "auto" };
  // Short on screen (the menu must fit in 800 px), whole for screen readers.
  var WORDS = { auto: ["\u25D0", "as the system", "Auto"], dark: ["\u263E", "dark", "Dark"],
                light: ["\u2600", "light", "Light"] };

  function themeButton(button) {
    function show() {
      var theme = stored();
      var said = WORDS[theme] || WORDS.auto;
      button.textContent = "";
      var mark = document.createElement("span");
      mark.setAttribute("aria-hidden", "true");
      mark.textContent = said[0] + " ";
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = larderT("Colours") + ": ";
      button.appendChild(mark);
      button.appendChild(hidden);
      button.appendChild(document.createTextNode(larderT(said[2])));
      button.title = larderT("Colours: %(theme)s (press to change)", { theme: larderT(said[1]) });
      button.setAttribute("data-theme-now", theme);
    }
    button.hidden = false;
    show();
    button.addEventListener("click", function () {
      var theme = NEXT[stored()] || "auto";
      try { localStorage.setItem(KEY, theme); } catch (e) { /* private mode: this page only */ }
      apply(theme);
      show();
    });
  }

  function menus() {
    var all = document.querySelectorAll("details.menu");
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      all.forEach(function (menu) {
        if (menu.open) { menu.open = false; menu.querySelector("summary").focus(); }
      });
    });
    document.addEventListener("click", function (event) {
      all.forEach(function (menu) { if (menu.open && !menu.contains(event.target)) menu.open = false; });
    });
  }

  // A cell's sort value: data-value if given, a number for "num" columns (currency
  // signs, spaces and thousands separators dropped; the last "," or "." is the decimal
  // point), else its text.
  function value(cell, numeric) {
    var raw = cell.getAttribute("data-value");
    if (raw === null) raw = cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    var s = raw.replace(/[^0-9,.\-]/g, "");
    var point = Math.max(s.lastIndexOf(","), s.lastIndexOf("."));
    if (point >= 0 && s.length - point - 1 !== 3) {
      s = s.slice(0, point).replace(/[,.]/g, "") + "." + s.slice(point + 1);
    } else {
      s = s.replace(/[,.]/g, "");
    }
    var n = parseFloat(s);
    return isNaN(n) ? -Infinity : n;
  }

  function sortable(table) {
    var head = table.tHead ? table.tHead.rows[0] : table.rows[0];
    if (!head) return;
    var cells = Array.prototype.slice.call(head.cells);
    if (!cells.every(function (c) { return c.tagName === "TH"; })) return;
    cells.forEach(function (th, index) {
      if (th.hasAttribute("data-nosort") || !th.textContent.trim()) return;
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        cells.forEach(function (c) { if (c.hasAttribute("aria-sort")) c.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var numeric = th.classList.contains("num");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) {
          return r !== head && r.cells.length === cells.length;
        });
        rows.sort(function (a, b) {
          var x = value(a.cells[index], numeric), y = value(b.cells[index], numeric);
          var order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-theme-switch]").forEach(themeButton);
    menus();
    document.querySelectorAll("table.sortable").forEach(sortable);
  });
})();
