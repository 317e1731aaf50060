// Shows only the settings that apply: the chosen trigger's, and each step's for its kind.
"use strict";

function showTriggerFields() {
  const marker = document.getElementById("flow-trigger-fields");
  const select = document.getElementById("id_trigger");
  if (!marker || !select) return;
  const byTrigger = JSON.parse(marker.dataset.fields);
  const all = new Set(Object.values(byTrigger).flat());
  const update = () => {
    const shown = new Set(byTrigger[select.value] || []);
    for (const name of all) {
      const row = document.querySelector(`.form-row.field-${name}`);
      if (row) row.hidden = !shown.has(name);
    }
  };
  select.addEventListener("change", update);
  update();
}

// A step's "Message" fieldset matters for send steps, its "Condition" fieldset for splits.
function showStepFields(step) {
  const kind = step.querySelector('select[name$="-kind"]');
  if (!kind || step.dataset.flowStepReady) return;
  step.dataset.flowStepReady = "1";
  const fieldsetOf = (cls) => step.querySelector(`.form-row.${cls}`)?.closest("fieldset");
  const message = fieldsetOf("field-body");
  const condition = fieldsetOf("field-segment");
  const update = () => {
    if (message) message.hidden = kind.value !== "send";
    if (condition) condition.hidden = kind.value !== "split";
  };
  kind.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  showTriggerFields();
  document.querySelectorAll(".inline-related").forEach(showStepFields);
  // Steps added with "Add another" arrive later.
  document.addEventListener("formset:added", (event) => showStepFields(event.target));
});
