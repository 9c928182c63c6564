// In the desktop window (pywebview), use native touches: a save dialog for reports, an
// open dialog for CSV import, outside links in the system browser. In a browser this
// script does nothing and the plain links and forms work as they are.
(function () {
  "use strict";
  function say(target, text, isError) {
    var p = document.createElement("p");
    p.className = isError ? "error" : "flash";
    p.textContent = text;
    target.replaceChildren(p);
  }
  function ready() {
    var api = window.pywebview && window.pywebview.api;
    if (!api) return;
    document.body.classList.add("desktop");
    document.addEventListener("click", function (event) {
      var link = event.target.closest("a");
      if (!link) return;
      if (link.dataset.reportId) {
        event.preventDefault();
        api.save_report(link.dataset.reportId).then(function (r) {
          if (r.error) alert(r.error);
        });
      } else if (link.dataset.backupName) {
        event.preventDefault();
        api.save_backup(link.dataset.backupName).then(function (r) {
          if (r.error) alert(r.error);
        });
      } else if (/^(https?|mailto):/.test(link.href) && link.host !== location.host) {
        event.preventDefault();
        api.open_external(link.href);
      }
    });
    document.querySelectorAll("button[data-native-import]").forEach(function (button) {
      button.addEventListener("click", function () {
        var out = document.getElementById("native-import-result");
        api.import_csv(button.dataset.nativeImport).then(function (r) {
          if (r.cancelled) return;
          if (r.error) return say(out, r.error, true);
          if (r.errors) return say(out, r.file + ": nothing imported. " + r.errors.join("; "), true);
          say(out, r.file + ": " + r.rows + " rows, " + r.created + " new, " + r.updated +
              " updated, " + r.unchanged + " unchanged.", false);
        });
      });
    });
  }
  if (window.pywebview && window.pywebview.api) ready();
  else window.addEventListener("pywebviewready", ready);
})();
