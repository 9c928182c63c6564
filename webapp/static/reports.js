// The Reports page: a preset fills the two dates (worked out by the server in the shop's
// time); typing a date switches to custom dates. Making a report sends the form's fields
// to /api/reports and adds its row at the top of the table, where progress.js follows
// it: the page is never reloaded. Without JavaScript the form posts as a plain form.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form || !window.fetch) return;
  var preset = form.elements.preset, from = form.elements.from, to = form.elements.to;
  var error = document.getElementById("report-error");

  function fill() {
    var chosen = preset.options[preset.selectedIndex];
    if (chosen.value === "custom") return;
    from.value = chosen.getAttribute("data-from");
    to.value = chosen.getAttribute("data-to");
  }
  preset.addEventListener("change", fill);
  [from, to].forEach(function (input) {
    input.addEventListener("input", function () { preset.value = "custom"; });
  });
  fill();

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    if (text) td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function addRow(job) {
    var body = document.querySelector("#reports tbody");
    var empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    var old = body.querySelector('tr[data-task-id="' + CSS.escape(job.task_id) + '"]');
    if (old) { return; }  // the same report already on its way: its row is there
    var row = document.createElement("tr");
    row.className = "job";
    row.setAttribute("data-task-id", job.task_id);
    row.setAttribute("data-state", job.state);
    cell(row, job.created_text || job.created_at);
    cell(row, job.title);
    cell(row, window.larderJobWord(job.state), "state state-" + job.state);
    var progress = cell(row, "");
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    var message = document.createElement("span");
    message.className = "message";
    progress.appendChild(bar); progress.appendChild(message);
    cell(row, "", "download");
    body.insertBefore(row, body.firstChild);
    window.larderPoll(row);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { preset: preset.value, from: from.value, to: to.value,
                 format: form.elements.format.value };
    fetch("/api/reports", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRFToken": form.elements.csrf_token.value },
      body: JSON.stringify(body)
    })
      .then(function (r) { return r.json().then(function (data) { return [r.ok, data]; }); })
      .then(function (result) {
        if (!result[0]) throw new Error(result[1].error || window.larderT("The report could not be made."));
        error.hidden = true;
        addRow(result[1]);
      })
      .catch(function (exc) {
        error.textContent = exc.message || window.larderT("Larder could not be reached: try again.");
        error.hidden = false;
      });
  });
})();
