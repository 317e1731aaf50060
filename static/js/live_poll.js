// Shared by the admin's live pages (broadcast progress, CSV import): while the JSON endpoint named
// by the root element's data-url says the work is live, fetch it every few seconds and show it.
(function () {
  "use strict";

  window.livePoll = function (rootId, pollMs, show) {
    function poll(root) {
      fetch(root.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (progress) {
          if (!progress) return;
          show(progress);
          if (progress.live) {
            setTimeout(function () { poll(root); }, pollMs);
          } else {
            const updated = document.getElementById("progress-updated");
            if (updated) updated.textContent = "";
          }
        })
        .catch(function (error) {
          console.error(error);
          setTimeout(function () { poll(root); }, pollMs * 3);
        });
    }

    document.addEventListener("DOMContentLoaded", function () {
      const root = document.getElementById(rootId);
      if (root && root.dataset.live === "1") setTimeout(function () { poll(root); }, pollMs);
    });
  };
})();
