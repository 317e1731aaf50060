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

  window.livePoll("import-progress", POLL_MS, show);
})();
