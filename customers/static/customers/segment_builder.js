/* The segment builder: edits the rule tree with dropdowns and typed inputs, keeps the hidden
   `rules` field in step, and asks the server for the live count, samples, summary and errors. */
(function () {
  "use strict";

  const script = document.getElementById("segment-builder-script");
  const catalog = JSON.parse(document.getElementById("segment-builder-catalog").textContent);
  const rulesInput = document.getElementById("id_rules");
  const storeInput = document.getElementById("id_store");
  const root = document.getElementById("segment-builder");
  if (!script || !rulesInput || !root) return;
  const previewUrl = script.dataset.previewUrl;
  const segmentId = script.dataset.segmentId ? Number(script.dataset.segmentId) : null;

  const OP_LABELS = {
    eq: "is", neq: "is not", contains: "contains", not_contains: "does not contain",
    starts_with: "starts with", in: "is one of", not_in: "is not one of", is_set: "is set",
    is_not_set: "is not set", gt: "is more than", gte: "is at least", lt: "is less than",
    lte: "is at most", between: "is between", on: "is on", before: "is before", after: "is after",
    within_last_days: "in the last … days", more_than_days_ago: "more than … days ago",
    has: "includes", has_not: "does not include", is_empty: "is empty", is_not_empty: "is not empty",
    exists: "is present", not_exists: "is missing", is: "is", is_not: "is not",
    zero: "zero times", in_segment: "is in", not_in_segment: "is not in",
  };
  const COUNT_LABELS = { gte: "at least", lte: "at most", eq: "exactly", zero: "zero times" };
  const TYPE_LABELS = {
    event: "Did an event", sequence: "Did X and not Y after it", repetition: "Repeated on the same item",
    profile: "Profile property", consent: "SMS consent", preference: "Preference", loyalty: "Loyalty status",
    metric: "Metric", rank: "Top % of the store", segment: "Member of a segment",
  };
  const EVENT_LABELS = {
    product_viewed: "Viewed product", cart_updated: "Added to cart", checkout_started: "Started checkout",
    order_placed: "Placed order", order_delivered: "Order delivered",
    back_in_stock_requested: "Requested back-in-stock alert", reward_balance_changed: "Reward balance changed",
    preference_set: "Set a preference", sms_sent: "SMS sent", sms_delivered: "SMS delivered",
    sms_clicked: "Clicked SMS link", sms_opted_out: "Opted out of SMS",
  };
  const MATCH_LABELS = { all: "ALL of these are true", any: "ANY of these is true", none: "NONE of these is true" };

  let tree = parseRules(rulesInput.value);

  function parseRules(text) {
    try {
      const parsed = JSON.parse(text || "{}");
      if (parsed && parsed.type === "group") return parsed;
      if (parsed && parsed.type) return { type: "group", match: "all", children: [parsed] };
    } catch (e) { /* a fresh tree below */ }
    return { type: "group", match: "all", children: [] };
  }

  function defaults(type) {
    switch (type) {
      case "group": return { type: "group", match: "all", children: [] };
      case "profile": return { type: "profile", field: "city", op: "eq", value: "" };
      case "consent": return { type: "consent", status: "subscribed", op: "is" };
      case "preference": return { type: "preference", kind: "topic", op: "has", value: "deals" };
      case "loyalty": return { type: "loyalty", op: "is_set" };
      case "metric": return { type: "metric", metric: "order_count", op: "gte", value: 1 };
      case "rank": return { type: "rank", metric: "total_spent", top_percent: 10 };
      case "sequence": return {
        type: "sequence", event: "checkout_started", window: { last: 24, unit: "hours" },
        then_not: { event: "order_placed" },
      };
      case "repetition": return {
        type: "repetition", event: "product_viewed", per: "product", at_least: 3, window: { last: 7, unit: "days" },
      };
      case "segment": {
        const first = segmentsForStore()[0];
        return { type: "segment", op: "in", segment: first ? first.id : null };
      }
      default: return { type: "event", event: "cart_updated", count: { op: "gte", value: 1 }, window: { last: 24, unit: "hours" } };
    }
  }

  /* ---- small DOM helpers ------------------------------------------------------------------- */

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null) node.setAttribute(k, v);
    });
    children.flat().forEach((c) => { if (c !== null && c !== undefined) node.append(c); });
    return node;
  }

  function select(options, value, onChange, label) {
    const node = el("select", { "aria-label": label || "", onchange: (e) => onChange(e.target.value) });
    options.forEach(([v, text]) => {
      const option = el("option", { value: v }, text);
      if (String(v) === String(value)) option.selected = true;
      node.append(option);
    });
    return node;
  }

  function input(type, value, onChange, attrs) {
    const node = el("input", Object.assign({ type: type, "aria-label": (attrs && attrs.label) || "" }, attrs || {}));
    node.value = value === undefined || value === null ? "" : value;
    node.addEventListener("input", () => onChange(type === "number" ? numberOrNull(node.value) : node.value));
    return node;
  }

  function numberOrNull(text) {
    if (text === "" || text === null) return null;
    const n = Number(text);
    return Number.isNaN(n) ? text : n;
  }

  function pairs(values, labels) {
    return values.map((v) => [v, (labels && labels[v]) || OP_LABELS[v] || String(v).replace(/_/g, " ")]);
  }

  function segmentsForStore() {
    const store = storeInput ? Number(storeInput.value) : null;
    return catalog.segments.filter((s) => !store || s.store === store);
  }
  // The tiers' names with the chosen store's own windows (its hot and cold days).
  function tierLabels() {
    const labels = catalog.engagement_labels;
    const store = storeInput ? storeInput.value : "";
    return labels[store] || Object.values(labels)[0] || {};
  }

  /* ---- editing ----------------------------------------------------------------------------- */

  function changed() {
    rulesInput.value = JSON.stringify(tree);
    render();
    schedulePreview();
  }

  function set(node, key, value) {
    if (value === undefined) delete node[key];
    else node[key] = value;
    changed();
  }

  function move(list, index, delta) {
    const target = index + delta;
    if (target < 0 || target >= list.length) return;
    [list[index], list[target]] = [list[target], list[index]];
    changed();
  }

  /* ---- rendering --------------------------------------------------------------------------- */

  function render() {
    const focused = document.activeElement && root.contains(document.activeElement) ? focusKey(document.activeElement) : null;
    root.replaceChildren(renderGroup(tree, "", null, 0));
    if (focused) restoreFocus(focused);
  }

  function focusKey(node) {
    const row = node.closest("[data-path]");
    const controls = row ? Array.from(row.querySelectorAll("input,select,button")) : [];
    return { path: row ? row.dataset.path : "", index: controls.indexOf(node), caret: node.selectionStart };
  }

  function restoreFocus(key) {
    const row = root.querySelector(`[data-path="${CSS.escape(key.path)}"]`);
    if (!row) return;
    const control = Array.from(row.querySelectorAll("input,select,button"))[key.index];
    if (!control) return;
    control.focus();
    if (key.caret !== null && key.caret !== undefined && control.setSelectionRange && control.type === "text") {
      control.setSelectionRange(key.caret, key.caret);
    }
  }

  function toolbar(list, index) {
    if (!list) return el("span");
    return el("span", { class: "sb-tools" },
      el("button", { type: "button", class: "sb-icon", title: "Move up", "aria-label": "Move up",
        onclick: () => move(list, index, -1), disabled: index === 0 ? "" : null }, "↑"),
      el("button", { type: "button", class: "sb-icon", title: "Move down", "aria-label": "Move down",
        onclick: () => move(list, index, 1), disabled: index === list.length - 1 ? "" : null }, "↓"),
      el("button", { type: "button", class: "sb-icon sb-remove", title: "Remove", "aria-label": "Remove",
        onclick: () => { list.splice(index, 1); changed(); } }, "✕"));
  }

  function renderGroup(group, path, parentList, index) {
    group.children = group.children || [];
    const childPath = (i) => (path ? `${path}.children[${i}]` : `children[${i}]`);
    const addType = el("select", { class: "sb-add-type", "aria-label": "Condition type" },
      ...Object.entries(TYPE_LABELS).map(([v, t]) => el("option", { value: v }, t)));
    return el("div", { class: "sb-group", "data-path": path },
      el("div", { class: "sb-group-head" },
        el("span", { class: "sb-label" }, "Customers where"),
        select(pairs(["all", "any", "none"], MATCH_LABELS), group.match || "all",
          (v) => set(group, "match", v), "Match"),
        toolbar(parentList, index)),
      el("div", { class: "sb-error", "data-error-for": path }),
      el("div", { class: "sb-children" },
        group.children.length ? null : el("p", { class: "sb-empty" }, "No conditions yet: everyone in the store."),
        ...group.children.map((child, i) => child.type === "group"
          ? renderGroup(child, childPath(i), group.children, i)
          : renderCondition(child, childPath(i), group.children, i))),
      el("div", { class: "sb-group-foot" },
        addType,
        el("button", { type: "button", class: "sb-add-condition",
          onclick: () => { group.children.push(defaults(addType.value)); changed(); } }, "+ Add condition"),
        el("button", { type: "button", class: "sb-add-group",
          onclick: () => { group.children.push(defaults("group")); changed(); } }, "+ Add group")));
  }

  function renderCondition(node, path, list, index) {
    const typeSelect = select(pairs(Object.keys(TYPE_LABELS), TYPE_LABELS), node.type,
      (v) => { list[index] = defaults(v); changed(); }, "Condition type");
    const editor = (EDITORS[node.type] || (() => el("span", {}, "Unknown condition")))(node);
    return el("div", { class: "sb-condition", "data-path": path, "data-type": node.type },
      el("div", { class: "sb-row" }, typeSelect, editor, toolbar(list, index)),
      el("div", { class: "sb-error", "data-error-for": path }));
  }

  function valueInput(node, kind, op) {
    if (catalog.no_value_ops.includes(op)) return null;
    if (op === "between") {
      const pair = Array.isArray(node.value) ? node.value : [0, 0];
      node.value = pair;
      return el("span", { class: "sb-between" },
        input("number", pair[0], (v) => { pair[0] = v; changed(); }, { label: "From", step: "any" }), " and ",
        input("number", pair[1], (v) => { pair[1] = v; changed(); }, { label: "To", step: "any" }));
    }
    if (op === "in" || op === "not_in") {
      const text = Array.isArray(node.value) ? node.value.join(", ") : "";
      return input("text", text, (v) => set(node, "value", v.split(",").map((s) => s.trim()).filter(Boolean)),
        { label: "Values", placeholder: "comma, separated" });
    }
    if (kind === "number" || op === "within_last_days" || op === "more_than_days_ago") {
      return input("number", node.value, (v) => set(node, "value", v), { label: "Value", step: "any" });
    }
    if (kind === "date" || kind === "datetime") {
      return input("date", node.value, (v) => set(node, "value", v), { label: "Date" });
    }
    if (kind === "any") {
      return input("text", node.value, (v) => set(node, "value", guessType(v)), { label: "Value" });
    }
    return input("text", node.value, (v) => set(node, "value", v), { label: "Value" });
  }

  function guessType(text) {
    if (text === "true") return true;
    if (text === "false") return false;
    if (text.trim() !== "" && !Number.isNaN(Number(text))) return Number(text);
    return text;
  }

  function opSelect(node, ops, kind) {
    if (!ops.includes(node.op)) node.op = ops[0];
    return select(pairs(ops), node.op, (v) => {
      node.op = v;
      if (catalog.no_value_ops.includes(v)) delete node.value;
      else if (v === "between") node.value = [0, 0];
      else if (v === "in" || v === "not_in") node.value = [];
      else if (Array.isArray(node.value) || node.value === undefined) node.value = kind === "number" ? 0 : "";
      changed();
    }, "Operator");
  }

  function eventSelect(holder) {
    const known = catalog.event_types.slice();
    if (holder.event && !known.includes(holder.event)) known.push(holder.event);
    const node = select(pairs([...known, "__custom__"], Object.assign({}, EVENT_LABELS, { __custom__: "Custom event…" })),
      holder.event, (v) => {
        if (v === "__custom__") {
          const name = window.prompt("Event type (lower_snake_case)", "");
          if (name) holder.event = name.trim();
        } else holder.event = v;
        changed();
      }, "Event");
    node.classList.add("sb-event");
    return node;
  }

  function windowEditor(node) {
    const w = node.window;
    const mode = !w ? "ever" : ("between" in w ? "between" : "last");
    const modeSelect = select([["ever", "at any time"], ["last", "in the last"], ["between", "between"]], mode, (v) => {
      if (v === "ever") delete node.window;
      else if (v === "last") node.window = { last: 24, unit: "hours" };
      else node.window = { between: [15, 60], unit: "days" };
      changed();
    }, "When");
    const parts = [modeSelect];
    if (mode === "last") {
      parts.push(input("number", w.last, (v) => set(w, "last", v), { label: "Amount", min: "1", class: "sb-num" }));
    } else if (mode === "between") {
      parts.push(input("number", w.between[0], (v) => { w.between[0] = v; changed(); }, { label: "From", min: "0", class: "sb-num" }),
        " and ", input("number", w.between[1], (v) => { w.between[1] = v; changed(); }, { label: "To", min: "0", class: "sb-num" }));
    }
    if (mode !== "ever") {
      parts.push(select(pairs(catalog.units), w.unit || "days", (v) => set(w, "unit", v), "Unit"));
      if (mode === "between") parts.push(" ago");
    }
    return el("span", { class: "sb-window" }, ...parts);
  }

  function filtersEditor(holder, label) {
    holder.filters = holder.filters || [];
    const specials = catalog.event_filter_special;
    const rows = holder.filters.map((f, i) => {
      const known = Object.keys(specials);
      const propertySelect = select(pairs([...known, "__property__"], Object.assign({}, specials, { __property__: "Property…" })),
        known.includes(f.property) ? f.property : "__property__",
        (v) => { f.property = v === "__property__" ? "" : v; changed(); }, "Filter on");
      const custom = known.includes(f.property) ? null
        : input("text", f.property, (v) => set(f, "property", v), { label: "Property name", placeholder: "e.g. cart_id" });
      return el("span", { class: "sb-filter" }, "where ", propertySelect, custom, opSelect(f, catalog.event_filter_ops, "any"),
        valueInput(f, "any", f.op),
        el("button", { type: "button", class: "sb-icon", "aria-label": "Remove filter",
          onclick: () => { holder.filters.splice(i, 1); if (!holder.filters.length) delete holder.filters; changed(); } }, "✕"));
    });
    const add = el("button", { type: "button", class: "sb-link", onclick: () => {
      holder.filters.push({ property: "product", op: "eq", value: "" }); changed();
    } }, label || "+ filter");
    if (!holder.filters.length) delete holder.filters;
    return el("span", { class: "sb-filters" }, ...rows, add);
  }

  const EDITORS = {
    profile(node) {
      const fields = catalog.profile_fields;
      const isAttribute = node.field && node.field.startsWith("attributes.");
      const field = fields.find((f) => f.name === node.field);
      const kind = isAttribute ? "any" : (field ? field.type : "text");
      const fieldSelect = select([...fields.map((f) => [f.name, f.label]), ["__attribute__", "Custom attribute…"]],
        isAttribute ? "__attribute__" : node.field, (v) => {
          node.field = v === "__attribute__" ? "attributes." : v;
          delete node.value; node.op = undefined; changed();
        }, "Field");
      const attribute = isAttribute ? input("text", node.field.slice("attributes.".length),
        (v) => set(node, "field", "attributes." + v), { label: "Attribute name", placeholder: "e.g. quiz_answer" }) : null;
      const ops = catalog.ops_by_type[kind];
      return el("span", { class: "sb-fields" }, fieldSelect, attribute, opSelect(node, ops, kind), valueInput(node, kind, node.op));
    },
    consent(node) {
      return el("span", { class: "sb-fields" },
        select(pairs(["is", "is_not"]), node.op || "is", (v) => set(node, "op", v), "Operator"),
        select(pairs(catalog.consent_statuses), node.status, (v) => set(node, "status", v), "Status"));
    },
    preference(node) {
      const kind = node.kind || "topic";
      const value = kind === "topic"
        ? select(pairs(catalog.topics, { deals: "Deals", drops: "Drops", restocks: "Restocks" }), node.value,
          (v) => set(node, "value", v), "Topic")
        : input("text", node.value, (v) => set(node, "value", v), { label: "Category", placeholder: "e.g. skincare" });
      return el("span", { class: "sb-fields" },
        select([["topic", "Topics"], ["category", "Favourite categories"]], kind, (v) => {
          node.kind = v; node.value = v === "topic" ? "deals" : ""; changed();
        }, "Preference"),
        select(pairs(["has", "has_not"]), node.op || "has", (v) => set(node, "op", v), "Operator"),
        value);
    },
    loyalty(node) {
      return el("span", { class: "sb-fields" }, opSelect(node, catalog.loyalty_ops, "text"), valueInput(node, "text", node.op));
    },
    metric(node) {
      const metric = node.metric;
      const metricSelect = select(Object.entries(catalog.metrics), metric, (v) => {
        node.metric = v;
        if (v === "engagement_tier") { node.op = "eq"; node.value = "hot"; }
        else if (v === "churn_risk") { node.op = "eq"; node.value = "high"; }
        else if (v === "offer_sensitive") { node.op = "eq"; node.value = "yes"; }
        else { node.op = "gte"; node.value = v === "order_probability" ? 50 : 1; }
        changed();
      }, "Metric");
      if (metric === "engagement_tier") {
        return el("span", { class: "sb-fields" }, metricSelect,
          select(pairs(["eq", "neq"]), node.op, (v) => set(node, "op", v), "Operator"),
          select(pairs(catalog.engagement_tiers, tierLabels()),
            node.value, (v) => set(node, "value", v), "Tier"));
      }
      if (metric === "churn_risk") {
        return el("span", { class: "sb-fields" }, metricSelect,
          select(pairs(["eq", "neq"]), node.op, (v) => set(node, "op", v), "Operator"),
          select(pairs(catalog.churn_bands, { low: "Low", medium: "Medium", high: "High" }),
            node.value, (v) => set(node, "value", v), "Churn risk"));
      }
      if (metric === "offer_sensitive") {
        return el("span", { class: "sb-fields" }, metricSelect,
          select(pairs(["eq", "neq"]), node.op, (v) => set(node, "op", v), "Operator"),
          select([["yes", "yes"], ["no", "no"]], node.value, (v) => set(node, "value", v), "Offer-sensitive"));
      }
      const dayMetric = metric === "days_since_last_order" || metric === "predicted_next_order_in_days";
      const ops = dayMetric ? catalog.day_metric_ops : catalog.metric_ops;
      const hint = metric === "discount_order_share" ? el("span", { class: "sb-hint" }, "(0 to 1, e.g. 0.5 = half)")
        : metric === "order_probability" ? el("span", { class: "sb-hint" }, "% (0 to 100)")
        : metric === "offer_uplift" ? el("span", { class: "sb-hint" }, "points, e.g. 5") : null;
      return el("span", { class: "sb-fields" }, metricSelect, opSelect(node, ops, "number"), valueInput(node, "number", node.op),
        dayMetric ? " days" : null, hint);
    },
    rank(node) {
      return el("span", { class: "sb-fields" }, "in the top ",
        input("number", node.top_percent, (v) => set(node, "top_percent", v), { label: "Top percent", min: "0", max: "100", step: "any", class: "sb-num" }),
        " % of the store by ",
        select([["total_spent", "lifetime value (total spent)"], ["average_order_value", "average order value"],
          ["predicted_value", "predicted 12-month value"]], node.metric,
          (v) => set(node, "metric", v), "Rank by"));
    },
    event(node) {
      node.count = node.count || { op: "gte", value: 1 };
      const count = node.count;
      const countOp = select(pairs(catalog.count_ops, COUNT_LABELS), count.op, (v) => {
        count.op = v;
        if (v === "zero") delete count.value; else if (count.value === undefined) count.value = 1;
        changed();
      }, "How often");
      const countValue = count.op === "zero" ? null
        : input("number", count.value, (v) => set(count, "value", v), { label: "Times", min: "0", class: "sb-num" });
      return el("span", { class: "sb-fields" }, eventSelect(node), countOp, countValue, count.op === "zero" ? null : " times ",
        windowEditor(node), filtersEditor(node));
    },
    sequence(node) {
      node.then_not = node.then_not || { event: "order_placed" };
      return el("span", { class: "sb-fields" }, eventSelect(node), windowEditor(node), filtersEditor(node),
        el("span", { class: "sb-label" }, "and no"), eventSelect(node.then_not), filtersEditor(node.then_not),
        el("span", { class: "sb-label" }, "after it, for the same"),
        select([["", "anything"], ["cart_id", "cart"], ["checkout_id", "checkout"], ["product_id", "product"]],
          node.same || "", (v) => set(node, "same", v || undefined), "Matched on"));
    },
    repetition(node) {
      const per = node.per || "product";
      return el("span", { class: "sb-fields" }, eventSelect(node), " on the same ",
        select([["product", "product"], ["category", "category"], ["cart_id", "cart"]], per, (v) => set(node, "per", v), "Same"),
        " at least ", input("number", node.at_least, (v) => set(node, "at_least", v), { label: "At least", min: "1", class: "sb-num" }),
        " times ", windowEditor(node), filtersEditor(node));
    },
    segment(node) {
      const options = segmentsForStore().map((s) => [s.id, s.name]);
      if (!options.length) options.push(["", "(no other segments in this store)"]);
      return el("span", { class: "sb-fields" },
        select([["in", "is in"], ["not_in", "is not in"]], node.op || "in", (v) => set(node, "op", v), "Operator"),
        select(options, node.segment, (v) => set(node, "segment", v ? Number(v) : null), "Segment"));
    },
  };

  /* ---- live preview ------------------------------------------------------------------------ */

  let timer = null;
  let sequence = 0;

  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 250);
  }

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  async function refreshPreview() {
    const mine = ++sequence;
    setText("sp-status", "Counting…");
    let body;
    try {
      const response = await fetch(previewUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ store: storeInput ? storeInput.value : null, segment: segmentId, rules: tree }),
        credentials: "same-origin",
      });
      body = await response.json();
    } catch (e) {
      if (mine === sequence) setText("sp-status", "Could not reach the server.");
      return;
    }
    if (mine !== sequence) return;
    showPreview(body);
  }

  function setText(id, text) {
    const node = document.getElementById(id);
    if (node) node.textContent = text;
  }

  function showPreview(body) {
    root.querySelectorAll(".sb-error").forEach((n) => { n.textContent = ""; });
    root.querySelectorAll(".sb-invalid").forEach((n) => n.classList.remove("sb-invalid"));
    const errors = body.errors || [];
    errors.forEach(placeError);
    const counted = body.count !== null && body.count !== undefined;
    const about = (n) => (body.estimate ? `about ${n.toLocaleString()}` : n.toLocaleString());
    setText("sp-count", counted ? about(body.count) : "—");
    const reachable = body.reachable !== null && body.reachable !== undefined;
    const reach = body.reachable_estimated ? `about ${(body.reachable || 0).toLocaleString()}` : about(body.reachable || 0);
    setText("sp-reach", counted && reachable ? reach : "—");
    setText("sp-estimate", body.estimate
      ? `Estimated from ${body.estimate.sampled.toLocaleString()} of ${body.estimate.of.toLocaleString()} customers chosen at random (± ${body.estimate.margin.toLocaleString()}): counting them all takes too long here.`
      : body.reachable_estimated
        ? "The count is exact; how many are reachable by SMS is estimated from customers chosen at random: counting them all takes too long here."
        : "");
    setText("sp-summary", body.summary || "");
    setText("sp-status", errors.length ? `${errors.length} problem${errors.length > 1 ? "s" : ""} to fix (shown at the row).` : "");
    const diff = document.getElementById("sp-diff");
    diff.replaceChildren();
    if (body.diff) {
      const about = body.diff.estimated ? "about " : "";
      diff.append(about, el("span", { class: "sp-added" }, `+${body.diff.added.toLocaleString()} added`), " · ",
        el("span", { class: "sp-removed" }, `−${body.diff.removed.toLocaleString()} removed`), " vs. saved",
        body.diff.estimated ? " (estimated from a sample)" : "");
    }
    const sample = document.getElementById("sp-sample");
    sample.replaceChildren(...(body.sample || []).map((c) => el("li", {},
      c.url ? el("a", { href: c.url }, c.name) : c.name, " ", el("span", { class: "sp-phone" }, c.phone),
      c.city ? el("span", { class: "sp-city" }, ` · ${c.city}`) : null)));
  }

  // the words a row's own controls use, for the part of an error's path below the row
  const FIELD_LABELS = {
    "window.last": "In the last", "window.between": "Between", "window.unit": "Unit", window: "Time window",
    at_least: "At least", value: "Value", op: "Comparison", field: "Field", event: "Event",
    metric: "Measure", top_percent: "Top percent", segment: "Segment", per: "Per", same: "Same",
    status: "Status", kind: "Kind", match: "Match", children: "Conditions", type: "Condition",
  };

  function fieldLabel(rest) {
    const key = rest.replace(/^\./, "");
    const filter = key.match(/^filters\[(\d+)\]\.?(.*)$/);
    if (filter) return `Filter ${Number(filter[1]) + 1}` + (filter[2] ? ` · ${fieldLabel(filter[2])}` : "");
    return FIELD_LABELS[key] || key.replace(/_/g, " ");
  }

  function placeError(error) {
    let path = error.path || "";
    // the nearest row whose path starts the error's path
    for (;;) {
      const slot = root.querySelector(`[data-error-for="${CSS.escape(path)}"]`);
      if (slot) {
        const detail = error.path && error.path !== path ? `${fieldLabel(error.path.slice(path.length))}: ` : "";
        slot.append(el("div", {}, detail + error.message));
        slot.closest("[data-path]").classList.add("sb-invalid");
        return;
      }
      if (!path) return;
      const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
      path = cut > 0 ? path.slice(0, cut) : "";
    }
  }

  if (storeInput) storeInput.addEventListener("change", () => { render(); schedulePreview(); });
  render();
  refreshPreview();
})();
