// In the desktop window (pywebview), use native touches: a save dialog for reports and
// backups, outside links in the system browser. In a browser this script does nothing
// and the plain links and forms work as they are.
(function () {
  "use strict";
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
  }
  if (window.pywebview && window.pywebview.api) ready();
  else window.addEventListener("pywebviewready", ready);
})();
