// The Import page's touches; without JavaScript the plain form and a self-refreshing
// progress page do the same (webapp/templates/import*.html).
(function () {
  "use strict";

  // Drag and drop: a file dropped anywhere on the form goes into its file input.
  var zone = document.querySelector("[data-drop-zone]");
  if (zone) {
    var input = zone.querySelector("input[type=file]");
    zone.querySelector(".drop-hint").hidden = false;
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dragging");
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
      }
    });
  }

  // Progress: poll the task's status; the finished page is drawn by the server.
  var box = document.querySelector("[data-import-task]");
  if (!box) return;
  var id = box.getAttribute("data-import-task");
  function poll() {
    fetch("/api/tasks/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (t) {
        if (t.state === "SUCCESS" || t.state === "FAILURE") {
          window.location.reload();
          return;
        }
        box.querySelector("progress").value = t.progress || 0;
        box.querySelector(".percent").textContent = (t.progress || 0) + "%";
        box.querySelector(".message").textContent = t.message || "";
        setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
