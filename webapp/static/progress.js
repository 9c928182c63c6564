// Live progress: poll /api/tasks/<id> for every unfinished job on the page.
(function () {
  "use strict";
  var FINISHED = { SUCCESS: true, FAILURE: true };
  function poll(row) {
    var id = row.getAttribute("data-task-id");
    if (!id) return;
    fetch("/api/tasks/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (t) {
        row.querySelector("progress").value = t.progress || 0;
        var state = row.querySelector(".state");
        state.textContent = t.state.toLowerCase();
        row.querySelector(".message").textContent = t.error || t.message || "";
        if (FINISHED[t.state]) {
          if (t.state === "SUCCESS" && row.querySelector(".download")) window.location.reload();
          return;
        }
        setTimeout(function () { poll(row); }, 500);
      })
      .catch(function () { setTimeout(function () { poll(row); }, 2000); });
  }
  document.querySelectorAll("tr.job").forEach(function (row) {
    var s = row.getAttribute("data-state");
    if (s === "queued" || s === "running") poll(row);
  });
})();
