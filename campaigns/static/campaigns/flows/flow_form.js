// Shows only the trigger settings that apply to the chosen trigger.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const marker = document.getElementById("flow-trigger-fields");
  const select = document.getElementById("id_trigger");
  if (!marker || !select) return;
  const byTrigger = JSON.parse(marker.dataset.fields);
  const all = new Set(Object.values(byTrigger).flat());
  const update = () => {
    const shown = new Set(byTrigger[select.value] || []);
    for (const name of all) {
      const row = document.querySelector(`.form-row.field-${name}`) ||
        document.getElementById(`id_${name}`)?.closest(".form-row");
      if (row) row.hidden = !shown.has(name);
    }
  };
  select.addEventListener("change", update);
  update();
});
