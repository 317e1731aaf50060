// The field picker: a click on a chip puts `{{ field|default:"…" }}` at the cursor of its text box,
// then tells the page the text changed (its previews listen for "input").
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const chip = event.target.closest(".field-picker button[data-field]");
    if (!chip || chip.disabled) return;
    const box = document.getElementById(chip.closest(".field-picker").dataset.target);
    if (!box) return;
    const fallback = chip.dataset.fallback ? '|default:"' + chip.dataset.fallback + '"' : "";
    const text = "{{ " + chip.dataset.field + fallback + " }}";
    const start = box.selectionStart === undefined ? box.value.length : box.selectionStart;
    const end = box.selectionEnd === undefined ? start : box.selectionEnd;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.selectionStart = box.selectionEnd = start + text.length;
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
