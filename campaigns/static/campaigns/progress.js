// The broadcast progress page refreshes its numbers from the JSON endpoint while the campaign runs.
(function () {
  "use strict";
  const POLL_MS = 3000;

  function text(el, value) {
    if (el) el.textContent = value;
  }

  function row(cells) {
    const tr = document.createElement("tr");
    cells.forEach(function (value) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.appendChild(td);
    });
    return tr;
  }

  function show(progress) {
    text(document.getElementById("campaign-status"), progress.status_label);
    text(document.getElementById("percent-done"), Number(progress.percent_done).toFixed(1) + "%");
    text(document.getElementById("materialized"), progress.materialized);
    text(document.getElementById("count-materialized"), progress.materialized);
    document.getElementById("progress-done").hidden = !progress.materialized;
    document.getElementById("progress-none").hidden = Boolean(progress.materialized);
    const bar = document.querySelector("#progress-live [role=progressbar]");
    bar.setAttribute("aria-valuenow", progress.percent_done);
    progress.bars.forEach(function (part) {
      const piece = bar.querySelector('[data-bar="' + part.css + '"]');
      piece.style.width = part.percent + "%";
      piece.hidden = !part.count;
      piece.title = part.label + ": " + part.count;
      text(document.querySelector('[data-count="' + part.css + '"]'), part.count);
    });
    progress.stages.forEach(function (stage, i) {
      text(document.querySelector('[data-stage="' + i + '"]'), stage[1]);
    });
    const reasons = Object.entries(progress.suppressed_by_reason);
    document.getElementById("suppressed-table").hidden = reasons.length === 0;
    document.getElementById("suppressed-counts").replaceChildren.apply(
      document.getElementById("suppressed-counts"),
      reasons.map(function (pair) { return row(pair); })
    );
  }

  window.livePoll("progress-live", POLL_MS, show);
})();
