// Live progress without reloading the page: poll the JSON status (/api/tasks/<id>) of
// every unfinished job row and update that row in place, so nothing being typed on the
// page is lost. A finished report gets its download link in place too (the table's
// data-download-url, JOB replaced by the job's id); desktop.js opens the native save
// dialog for it in the window.
(function () {
  "use strict";
  var FINISHED = { SUCCESS: true, FAILURE: true };
  // The stored state (data-state, the state-* class) and the shop words the page shows
  // for it: the same as the server renders (templates/_jobs.html, JOB_WORDS).
  var STATES = { PENDING: "queued", STARTED: "running", PROGRESS: "running",
                 SUCCESS: "success", FAILURE: "failure" };
  var WORDS = { queued: "waiting", running: "running", success: "done", failure: "failed" };
  function stateOf(t) { return STATES[t.state] || t.state.toLowerCase(); }
  function word(state) { return WORDS[state] ? window.larderT(WORDS[state]) : state; }

  function finish(row, t) {
    var state = stateOf(t);
    row.setAttribute("data-state", state);
    var cell = row.querySelector("td.download");
    var table = row.closest("table");
    var template = table && table.getAttribute("data-download-url");
    if (t.state === "SUCCESS" && cell && template && !cell.querySelector("a")) {
      var link = document.createElement("a");
      link.href = template.replace("JOB", encodeURIComponent(t.job_id));
      link.setAttribute("data-report-id", t.job_id);
      link.textContent = window.larderT("Download");
      cell.appendChild(link);
    }
  }

  function poll(row) {
    var id = row.getAttribute("data-task-id");
    if (!id) return;
    fetch("/api/tasks/" + encodeURIComponent(id), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (t) {
        row.querySelector("progress").value = t.progress || 0;
        var state = row.querySelector(".state");
        state.textContent = word(stateOf(t));
        state.className = "state state-" + stateOf(t);
        row.querySelector(".message").textContent = t.error || (FINISHED[t.state] ? "" : t.message || "");
        if (FINISHED[t.state]) { finish(row, t); return; }
        setTimeout(function () { poll(row); }, 500);
      })
      .catch(function () { setTimeout(function () { poll(row); }, 2000); });
  }

  window.larderPoll = poll;  // reports.js: a row added by the page itself
  window.larderJobWord = word;
  document.querySelectorAll("tr.job").forEach(function (row) {
    var s = row.getAttribute("data-state");
    if (s === "queued" || s === "running") poll(row);
  });
})();
