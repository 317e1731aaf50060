// Live preview for the message template form: checks, creep findings, meter and sample texts,
// refreshed as the body is edited. Everything is built with textContent: no HTML from the server.
(function () {
  "use strict";

  const panel = document.getElementById("template-preview");
  const body = document.getElementById("id_body");
  const store = document.getElementById("id_store");
  if (!panel || !body || !store) return;

  const $ = (id) => document.getElementById(id);
  const csrf = () => (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  let timer = null;
  let sequence = 0;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function describeMeter(m) {
    return `${m.encoding} · ${m.characters} characters · ${m.segments} segment${m.segments === 1 ? "" : "s"}` +
      ` (up to ${m.per_segment} ${m.encoding === "GSM-7" ? "characters" : "UCS-2 units"} each)`;
  }

  function payload() {
    return {
      body: body.value,
      store: store.value,
      customer: $("tp-customer").value,
      segment: $("tp-segment").value,
      context: $("tp-context").value,
      is_first_in_flow: $("tp-first").checked,
    };
  }

  async function post(url, data) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(data),
      credentials: "same-origin",
    });
    return { ok: response.ok, data: await response.json() };
  }

  function showErrors(data) {
    const list = $("tp-checks");
    clear(list);
    for (const error of data.errors || []) {
      list.appendChild(el("li", `${error.field}: ${error.message}`, "tp-check-error"));
    }
  }

  function showSegments(segments) {
    const select = $("tp-segment");
    const chosen = select.value;
    const known = Array.from(select.options).map((o) => o.value).join(",");
    const incoming = [""].concat(segments.map((s) => String(s.id))).join(",");
    if (known === incoming) return;
    clear(select);
    select.appendChild(el("option", "—")).value = "";
    for (const segment of segments) {
      const option = el("option", segment.name);
      option.value = segment.id;
      select.appendChild(option);
    }
    select.value = chosen;
  }

  function showMeter(m, gsmFriendly) {
    const meter = $("tp-meter");
    const encoding = $("tp-encoding");
    clear(encoding);
    meter.textContent = m ? `Template: ${describeMeter(m)}` : "Template: fix the errors below to measure it";
    meter.classList.toggle("ucs2", Boolean(m && m.encoding === "UCS-2"));
    if (!m || !m.unicode_chars.length) return;
    const items = m.unicode_chars.map((c) =>
      `${c.char} (${c.name.toLowerCase()})${c.suggestion === null ? " — no GSM-7 equivalent" :
        ` → ${c.suggestion === "" ? "remove" : c.suggestion}`}`);
    encoding.appendChild(el("div", `UCS-2 because of: ${items.join(", ")}`));
    if (gsmFriendly) {
      const button = el("button", "Replace the characters that have a GSM-7 equivalent", "button");
      button.type = "button";
      button.addEventListener("click", () => { body.value = gsmFriendly; schedule(0); });
      encoding.appendChild(button);
    }
  }

  function showChecks(checks) {
    const list = $("tp-checks");
    clear(list);
    if (!checks.length) list.appendChild(el("li", "No problems found.", "tp-check-ok"));
    for (const check of checks) {
      list.appendChild(el("li", `${check.level}: ${check.message}`, `tp-check-${check.level}`));
    }
  }

  function findingList(findings) {
    const list = el("ol");
    for (const f of findings) {
      const item = el("li");
      item.appendChild(el("strong", `“${f.phrase}”`));
      item.appendChild(document.createTextNode(` (${f.label}): ${f.explanation} ${f.suggestion}`));
      list.appendChild(item);
    }
    return list;
  }

  function showCreep(findings) {
    const box = $("tp-creep");
    clear(box);
    box.appendChild(el("h3", findings.length ? `Creep-factor check: ${findings.length} finding(s)` :
      "Creep-factor check: nothing creepy found"));
    if (findings.length) box.appendChild(findingList(findings));
  }

  function showSamples(samples, note) {
    const box = $("tp-samples");
    clear(box);
    if (note) box.appendChild(el("p", note, "tp-sample-note"));
    for (const sample of samples) {
      const card = el("div", null, "tp-sample");
      card.appendChild(el("small", `${sample.customer.name} · ${sample.customer.phone}`));
      card.appendChild(el("pre", sample.body, "tp-sample-body"));
      for (const link of sample.links || []) card.appendChild(el("small", `${link.short} opens ${link.opens}`, "tp-sample-link"));
      card.appendChild(el("small", describeMeter(sample.meter), "tp-sample-meter"));
      if (sample.creep.length) card.appendChild(findingList(sample.creep));
      box.appendChild(card);
    }
  }

  async function refresh() {
    const mine = ++sequence;
    if (!store.value) {
      $("tp-meter").textContent = "Pick a store to preview.";
      return;
    }
    const { ok, data } = await post(panel.dataset.previewUrl, payload());
    if (mine !== sequence) return; // a newer edit already asked again
    if (!ok) { showErrors(data); return; }
    showSegments(data.segments);
    showMeter(data.template_meter, data.gsm_friendly);
    showChecks(data.checks);
    showCreep(data.creep);
    showSamples(data.samples, data.sample_note);
    panel.dataset.refreshed = String(mine);
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay === undefined ? 250 : delay);
  }

  async function measureAudience() {
    const box = $("tp-audience");
    box.textContent = "Measuring…";
    const { ok, data } = await post(panel.dataset.audienceUrl, payload());
    clear(box);
    if (!ok) {
      box.textContent = (data.errors || []).map((e) => e.message).join(" ");
      return;
    }
    const rows = [
      ["Subscribed recipients", data.recipients],
      ["Segments per text (min / median / max)",
        `${data.min_segments} / ${data.median_segments} / ${data.max_segments}`],
      ["Longer than the template suggests", `${(data.longer_share * 100).toFixed(1)} %`],
      ["Sent as UCS-2", `${(data.ucs2_share * 100).toFixed(1)} %`],
      ["Segments in all", data.total_segments],
      ["Estimated cost", `${data.estimated_cost} ${data.currency}`],
    ];
    if (data.sampled) rows.push(["Measured on a random sample of", data.sampled]);
    for (const f of data.forcing || []) {
      rows.push([`${f.char} in ${f.texts} ${f.where} forces UCS-2`,
        `+${f.extra_segments} segment(s), about ${f.extra_cost} ${data.currency}`]);
    }
    const table = el("table", null, "tp-audience-table");
    table.appendChild(el("caption", `Audience: ${data.segment}`));
    for (const [label, value] of rows) {
      const tr = el("tr");
      tr.appendChild(el("th", label));
      tr.appendChild(el("td", String(value)));
      table.appendChild(tr);
    }
    box.appendChild(table);
  }

  body.addEventListener("input", () => schedule());
  store.addEventListener("change", () => schedule(0));
  for (const id of ["tp-customer", "tp-segment", "tp-context", "tp-first"]) {
    $(id).addEventListener(id === "tp-customer" ? "input" : "change", () => schedule());
  }
  $("tp-audience-run").addEventListener("click", measureAudience);
  schedule(0);
})();
