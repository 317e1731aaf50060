// The import progress page refreshes its numbers from the JSON endpoint while the import runs.
(function () {
  "use strict";
  const POLL_MS = 2000;

  function text(id, value) {
    const el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function show(progress) {
    text("import-status", progress.status_label);
    text("import-phase", progress.phase_label);
    text("import-percent", progress.percent + "%");
    text("rows-processed", progress.rows_processed);
    text("rows-total", progress.rows_total);
    text("count-created", progress.created);
    text("count-updated", progress.updated);
    text("import-error", progress.error);
    document.getElementById("import-failed").hidden = !progress.error;
    document.getElementById("import-bar").style.width = progress.percent + "%";
    document.querySelector("#import-progress [role=progressbar]").setAttribute("aria-valuenow", progress.percent);
  }

  function poll(root) {
    fetch(root.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (progress) {
        if (!progress) return;
        show(progress);
        if (progress.live) {
          setTimeout(function () { poll(root); }, POLL_MS);
        } else {
          text("progress-updated", "");
        }
      })
      .catch(function (error) {
        console.error(error);
        setTimeout(function () { poll(root); }, POLL_MS * 3);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.getElementById("import-progress");
    if (root && root.dataset.live === "1") setTimeout(function () { poll(root); }, POLL_MS);
  });
})();
