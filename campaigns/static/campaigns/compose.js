// The compose page: counts, the policy's forecast, the texts as sent and the meter follow the
// fields as they change (the field picker's insertions too: it sends "input").
(function () {
  "use strict";
  const form = document.getElementById("compose");
  if (!form) return;
  let timer = null;
  let asked = 0;

  function show(id, hidden) { const el = document.getElementById(id); if (el) el.hidden = hidden; }

  function whenChanged() {
    const when = (form.querySelector("[name=when]:checked") || {}).value || "now";
    form.querySelectorAll(".when-at").forEach(function (el) { el.hidden = when !== "at"; });
    form.querySelectorAll(".when-local").forEach(function (el) { el.hidden = when !== "local"; });
  }

  function item(text, strong) {
    const li = document.createElement("li");
    const b = document.createElement("strong");
    b.textContent = strong;
    li.append(b, " " + text);
    return li;
  }

  function sample(s) {
    const wrap = document.createElement("div");
    wrap.className = "sms-sample";
    const bubble = document.createElement("div");
    bubble.className = "sms-bubble";
    bubble.textContent = s.body;
    const note = document.createElement("small");
    note.textContent = s.customer + " · " + s.meter.characters + " characters, " + s.meter.segments +
      " segment(s)" + s.links.map(function (url) { return " · the link opens " + url; }).join("");
    wrap.append(bubble, document.createElement("br"), note);
    return wrap;
  }

  function render(data) {
    if (data.customers === undefined) return;
    document.getElementById("audience-counts").textContent = data.audience;
    document.getElementById("audience-outcomes").replaceChildren.apply(
      document.getElementById("audience-outcomes"),
      data.outcomes.map(function (o) { return item(o.label, String(o.count)); }));
    show("audience-sampled", !data.sampled);
    if (data.meter) {
      document.getElementById("message-meter").textContent = data.meter.encoding + " · " +
        data.meter.characters + " characters · " + data.meter.segments + " segment(s) per text · about " +
        data.meter.cost + " for everyone";
    }
    if (data.samples && data.samples.length) {
      const box = document.getElementById("message-samples");
      box.replaceChildren.apply(box, data.samples.map(sample));
    }
  }

  function refresh() {
    const mine = ++asked;
    fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === asked) render(data); })
      .catch(function () {});
  }

  function later() { clearTimeout(timer); timer = setTimeout(refresh, 400); }

  form.addEventListener("input", later);
  form.addEventListener("change", function () { whenChanged(); later(); });
  whenChanged();
  if (form.querySelector("[name=segment]").value) refresh();
})();
