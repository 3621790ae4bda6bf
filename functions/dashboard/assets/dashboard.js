// The spend dashboard: every figure comes from the API's JSON (and CSV) routes, called with the bearer token
// the person pasted (kept in sessionStorage, this tab only). Money arrives as integer micro-dollars and is
// rounded here half-up on integers, so the page shows what /costs/stats says, to the cent.
"use strict";

(() => {
  const TOKEN_KEY = "hybridOrchestrator.token";
  const DEFAULT_DAYS = 30;
  const MICROS_PER_USD = 1e6;
  // One colour per provider everywhere; other keys (models, types) get a stable colour from their name.
  const KNOWN_COLOURS = { azure: "#0078d4", openai: "#10a37f" };
  const PALETTE = ["#e8710a", "#9334e6", "#d01884", "#1a73e8", "#188038", "#c5221f", "#795548", "#12b5cb", "#f9ab00", "#5f6368"];
  const THRESHOLD_COLOUR = "#b3261e";
  const FORMULA_ESCAPED = /^'[=+\-@\t\r]/;

  const $ = (id) => document.getElementById(id);
  const state = { token: null, claims: null, admin: null, userId: "", charts: {}, campaigns: [], sort: { key: "costMicros", dir: -1 } };
  window.dashboard = state; // the browser tests read the charts' series from here

  // ---- money, days and colours ----------------------------------------------------------------------------

  function usd(micros, digits = 2) {
    const negative = micros < 0;
    const unit = 10 ** (6 - digits);
    const scaled = Math.floor((Math.abs(micros) + unit / 2) / unit);
    const whole = Math.floor(scaled / 10 ** digits);
    const fraction = digits ? "." + String(scaled % 10 ** digits).padStart(digits, "0") : "";
    return (negative ? "-" : "") + "$" + whole.toLocaleString("en-US") + fraction;
  }

  function money(micros) {
    // Cents once there are dollars; below a dollar four decimals, so small spend does not read as nothing.
    return usd(micros, Math.abs(micros) >= MICROS_PER_USD ? 2 : 4);
  }

  function axisUsd(value) {
    const size = Math.abs(value);
    return "$" + (size === 0 ? "0" : size >= 100 ? value.toFixed(0) : size >= 1 ? value.toFixed(2) : value.toFixed(4));
  }

  function percent(value) {
    return value === null || value === undefined ? "new" : (value > 0 ? "+" : "") + value.toFixed(2) + " %";
  }

  function microsOf(usdText) {
    // "12.345678901" (the export's exact nine decimals: nano-dollars) → 12345679 micro-dollars, rounded half up
    // once, without going through a float.
    const [whole, fraction = ""] = usdText.split(".");
    const nanos = parseInt(whole, 10) * MICROS_PER_USD * 1000 + parseInt((fraction + "000000000").slice(0, 9), 10);
    return Math.floor((nanos + 500) / 1000);
  }

  function addDays(iso, days) {
    const day = new Date(iso + "T00:00:00Z");
    day.setUTCDate(day.getUTCDate() + days);
    return day.toISOString().slice(0, 10);
  }

  function daysBetween(first, last) {
    const days = [];
    for (let day = first; day <= last; day = addDays(day, 1)) days.push(day);
    return days;
  }

  function colour(key) {
    if (KNOWN_COLOURS[key]) return KNOWN_COLOURS[key];
    let hash = 0;
    for (const char of key) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    return PALETTE[hash % PALETTE.length];
  }

  function element(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value);
    }
    node.append(...children);
    return node;
  }

  function swatch(key) {
    const node = element("span", { className: "swatch", "aria-hidden": "true" });
    node.style.background = colour(key); // through the CSSOM: the page's CSP allows no inline style attribute
    return node;
  }

  // ---- the token ------------------------------------------------------------------------------------------

  function takeTokenFromLink() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.has("token")) {
      sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
      history.replaceState(null, "", location.pathname + location.search); // out of the address bar and history
    }
  }

  function decodeClaims(token) {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      const json = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(parts[1].length / 4) * 4, "="));
      return JSON.parse(json);
    } catch {
      return null;
    }
  }

  function askForToken(message) {
    $("token-message").textContent = message;
    $("token-panel").hidden = false;
    $("main").hidden = true;
    $("forget-token").hidden = !state.token;
    $("who").textContent = "";
    $("token-input").focus();
  }

  function tokenProblem(token) {
    if (!token) return "No token yet: paste a bearer token to see spend.";
    const claims = decodeClaims(token);
    if (!claims) return "This is not a JWT (three dot-separated parts): paste the whole bearer token.";
    if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) {
      return `This token expired at ${new Date(claims.exp * 1000).toISOString().replace(".000Z", "Z")} (UTC): paste a fresh one.`;
    }
    return null;
  }

  class TokenRefused extends Error {}

  async function call(path, { csv = false } = {}) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
    if (response.status === 401) {
      const body = await response.json().catch(() => ({}));
      throw new TokenRefused(`The API refused this token (${body.error ? body.error.message : "401"}): it is expired, not signed for this API, or malformed. Paste another one.`);
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const details = (body.error && body.error.details) || [];
      const fields = details.map((d) => `${d.field}: ${d.message}`).join("; ");
      throw new Error(`${path.split("?")[0]} answered ${response.status}${body.error ? ": " + body.error.message : ""}${fields ? " (" + fields + ")" : ""}`);
    }
    return csv ? response.text() : (await response.json()).data;
  }

  // ---- the figures ----------------------------------------------------------------------------------------

  function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
    if (state.userId) search.set("userId", state.userId);
    return search.toString();
  }

  function parseCsv(text) {
    // RFC 4180: quoted fields may hold commas, quotes (doubled) and line breaks.
    const rows = [];
    let row = [], field = "", quoted = false;
    for (let i = 0; i < text.length; i++) {
      const char = text[i];
      if (quoted) {
        if (char === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (char === '"') quoted = false;
        else field += char;
      } else if (char === '"') quoted = true;
      else if (char === ",") { row.push(field); field = ""; }
      else if (char === "\n" || char === "\r") {
        if (char === "\r" && text[i + 1] === "\n") i++;
        row.push(field); rows.push(row); row = []; field = "";
      } else field += char;
    }
    if (field || row.length) { row.push(field); rows.push(row); }
    const [header, ...body] = rows;
    return body.map((cells) => ({
      day: cells[0],
      key: FORMULA_ESCAPED.test(cells[1]) ? cells[1].slice(1) : cells[1],
      calls: Number(cells[2]),
      micros: microsOf(cells[5]),
      header,
    }));
  }

  function thresholdsHtml(container, thresholds, period) {
    container.replaceChildren();
    for (const threshold of thresholds.filter((t) => t.period === period)) {
      // A global threshold's progress is shown to admins only: the API sends null spend for anyone else.
      if (threshold.percent === null || threshold.percent === undefined) {
        container.append(element("div", { className: "threshold" },
          element("div", { className: "label" }, element("span", { text: `${period} threshold ${usd(threshold.amountMicros)}` }))));
        continue;
      }
      const share = threshold.amountMicros ? threshold.spentMicros / threshold.amountMicros : 0;
      const meter = element("div", { className: "meter" + (threshold.crossed ? " crossed" : share >= 0.8 ? " near" : ""), role: "meter",
        "aria-valuemin": "0", "aria-valuemax": String(threshold.amountUsd), "aria-valuenow": String(threshold.spentUsd),
        "aria-label": `${period} threshold` }, element("span"));
      meter.firstChild.style.width = Math.min(100, share * 100).toFixed(2) + "%";
      container.append(element("div", { className: "threshold" },
        element("div", { className: "label" },
          element("span", { text: `${period} threshold ${usd(threshold.amountMicros)}` }),
          element("span", { text: `${threshold.percent.toFixed(2)} %${threshold.crossed ? " — crossed" : ""}` })),
        meter));
    }
  }

  function providersToday(stats) {
    // Either {today: [{provider, costMicros, ...}], month: [...]} or {provider: USD today}.
    const breakdown = stats.providerBreakdown || {};
    if (Array.isArray(breakdown.today)) return breakdown.today.map((p) => [p.provider, money(p.costMicros)]);
    return Object.entries(breakdown).filter(([, value]) => typeof value === "number").map(([name, value]) => [name, money(Math.round(value * MICROS_PER_USD))]);
  }

  function showStats(stats) {
    $("today-date").textContent = stats.date + " UTC";
    $("month-name").textContent = stats.month;
    for (const [id, micros] of [["today", stats.todayTotalMicros], ["month", stats.monthTotalMicros]]) {
      $(`${id}-total`).textContent = usd(micros);
      $(`${id}-total`).dataset.micros = String(micros);
      $(`${id}-exact`).textContent = `exact ${usd(micros, 6)}`;
    }
    thresholdsHtml($("today-thresholds"), stats.thresholds || [], "daily");
    thresholdsHtml($("month-thresholds"), stats.thresholds || [], "monthly");
    $("today-providers").replaceChildren(...providersToday(stats).map(([name, amount]) =>
      element("li", {}, swatch(name), `${name} ${amount}`)));
  }

  function thresholdLine(label, amountUsd, count, visible) {
    return { type: "line", label, data: Array(count).fill(amountUsd), borderColor: THRESHOLD_COLOUR, borderDash: [6, 4],
      borderWidth: 1.5, pointRadius: 0, fill: false, hidden: !visible, stack: "threshold", order: 0 };
  }

  function usdScale(stacked) {
    return { stacked, beginAtZero: true, title: { display: true, text: "USD" }, ticks: { callback: axisUsd } };
  }

  function replaceChart(name, canvasId, config) {
    if (state.charts[name]) state.charts[name].destroy();
    config.options = { responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false }, ...config.options };
    state.charts[name] = new Chart($(canvasId), config);
  }

  function showDaily(rows, first, last, groupBy, thresholds) {
    const days = daysBetween(first, last);
    const totals = new Map();
    for (const row of rows) totals.set(row.key, (totals.get(row.key) || 0) + row.micros);
    const keys = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a) || a.localeCompare(b));
    const datasets = keys.map((key) => {
      const perDay = new Map(rows.filter((r) => r.key === key).map((r) => [r.day, r.micros]));
      return { type: "bar", label: key, data: days.map((d) => (perDay.get(d) || 0) / MICROS_PER_USD), backgroundColor: colour(key), stack: "spend", order: 1 };
    });
    const daily = thresholds.find((t) => t.period === "daily");
    if (daily) {
      const peak = Math.max(0, ...days.map((_, i) => datasets.reduce((sum, set) => sum + set.data[i], 0)));
      datasets.push(thresholdLine(`daily threshold ${usd(daily.amountMicros)}`, daily.amountUsd, days.length, peak >= daily.amountUsd / 4));
    }
    replaceChart("daily", "daily-chart", {
      data: { labels: days, datasets },
      options: {
        scales: { x: { stacked: true, title: { display: true, text: `UTC day (stacked by ${groupBy})` } }, y: usdScale(true) },
        plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${axisUsd(item.parsed.y)}` } } },
      },
    });
  }

  function showMonth(stats, days, forecast, thresholds) {
    const monthStart = stats.month + "-01";
    const monthEnd = forecast.monthEnd || addDays(addDays(monthStart, 32).slice(0, 8) + "01", -1);
    const labels = daysBetween(monthStart, monthEnd);
    const byDay = new Map(days.groups.map((g) => [g.key, g.costMicros]));
    let running = 0;
    const cumulative = labels.map((day) => (day <= stats.date ? (running += byDay.get(day) || 0) / MICROS_PER_USD : null));
    const todayIndex = labels.indexOf(stats.date);
    const datasets = [{ label: "month to date", data: cumulative, borderColor: "#1d2330", backgroundColor: "#1d2330", pointRadius: 2, fill: false }];
    const toward = (endValue) => labels.map((_, i) => (i < todayIndex ? null
      : cumulative[todayIndex] + (endValue - cumulative[todayIndex]) * (i - todayIndex) / Math.max(1, labels.length - 1 - todayIndex)));
    if (forecast.status === "ok" && forecast.interval && todayIndex >= 0) {
      datasets.push({ label: "forecast low", data: toward(forecast.interval.lowMicros / MICROS_PER_USD), borderColor: "rgba(36,87,197,.35)", pointRadius: 0, fill: false });
      datasets.push({ label: `forecast band (${Math.round(forecast.interval.confidence * 100)} %)`, data: toward(forecast.interval.highMicros / MICROS_PER_USD),
        borderColor: "rgba(36,87,197,.35)", backgroundColor: "rgba(36,87,197,.15)", pointRadius: 0, fill: "-1" });
      datasets.push({ label: "projection", data: toward(forecast.projectedMonthEndMicros / MICROS_PER_USD), borderColor: "#2457c5", borderDash: [4, 3], pointRadius: 0, fill: false });
    }
    const monthly = thresholds.find((t) => t.period === "monthly");
    if (monthly) {
      const top = forecast.interval ? forecast.interval.highMicros : stats.monthTotalMicros;
      datasets.push(thresholdLine(`monthly threshold ${usd(monthly.amountMicros)}`, monthly.amountUsd, labels.length, top >= monthly.amountMicros / 4));
    }
    replaceChart("month", "month-chart", {
      type: "line",
      data: { labels, datasets },
      options: { scales: { x: { title: { display: true, text: "UTC day" } }, y: usdScale(false) },
        plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${axisUsd(item.parsed.y)}` } } } },
    });
    const summary = $("forecast-summary");
    if (forecast.status === "ok") {
      summary.textContent = `Projected month end ${usd(forecast.projectedMonthEndMicros)} (${Math.round(forecast.interval.confidence * 100)} % interval ${usd(forecast.interval.lowMicros)} – ${usd(forecast.interval.highMicros)}).`;
    } else {
      summary.textContent = `No forecast yet: it needs ${forecast.requiredHistoryDays} days of history, there are ${forecast.historyDays}.`;
    }
    const spike = $("spike");
    spike.hidden = false;
    if (forecast.spike && forecast.spike.isSpike) {
      spike.className = "spike";
      spike.textContent = `Spike today: ${usd(forecast.spike.todayMicros)}, above ${axisUsd(forecast.spike.threshold)} (baseline ${axisUsd(forecast.spike.baseline)} a day).`;
    } else {
      spike.className = "sub";
      spike.textContent = forecast.spike ? `No spike today (spike above ${axisUsd(forecast.spike.threshold)}).` : "No spike check yet (too little history).";
    }
  }

  function showComparison(comparison) {
    const { current, previous, total, period } = comparison;
    const change = total.changePercent;
    const summary = $("compare-summary");
    summary.replaceChildren(
      `This ${period} (${current.from} – ${current.to}): `, element("strong", { text: money(total.currentMicros) }),
      `; the same ${current.days} days of the previous ${period} (${previous.from} – ${previous.to}): `, element("strong", { text: money(total.previousMicros) }),
      "; change ", element("strong", { className: change > 0 ? "up" : change < 0 ? "down" : "", text: percent(change) }), ".");
    const providers = comparison.providers;
    replaceChart("compare", "compare-chart", {
      type: "bar",
      data: {
        labels: providers.map((p) => p.provider),
        datasets: [
          { label: `this ${period}`, data: providers.map((p) => p.currentMicros / MICROS_PER_USD), backgroundColor: providers.map((p) => colour(p.provider)) },
          { label: `previous ${period}`, data: providers.map((p) => p.previousMicros / MICROS_PER_USD), backgroundColor: providers.map((p) => colour(p.provider) + "66") },
        ],
      },
      options: { scales: { y: usdScale(false) }, plugins: { legend: { display: false } } },
    });
    $("compare-table").tBodies[0].replaceChildren(...providers.map((p) => element("tr", { "data-provider": p.provider },
      element("th", { scope: "row" }, swatch(p.provider), p.provider),
      element("td", { className: "num", text: money(p.currentMicros) }),
      element("td", { className: "num", text: money(p.previousMicros) }),
      element("td", { className: "num " + (p.changePercent > 0 ? "up" : p.changePercent < 0 ? "down" : ""), text: percent(p.changePercent) }))));
  }

  function sortValue(campaign, key) {
    return key === "tokens" ? campaign.tokens.total : campaign[key];
  }

  function showCampaigns() {
    const { key, dir } = state.sort;
    const rows = [...state.campaigns].sort((a, b) => {
      const x = sortValue(a, key), y = sortValue(b, key);
      return (typeof x === "string" ? x.localeCompare(y) : x - y) * dir || a.campaignId.localeCompare(b.campaignId);
    });
    for (const th of $("campaigns-table").tHead.rows[0].cells) {
      if (th.dataset.key === key) th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
    const body = $("campaigns-table").tBodies[0];
    if (!rows.length) {
      body.replaceChildren(element("tr", {}, element("td", { colspan: "7", text: "No spend recorded yet in this range." })));
      return;
    }
    body.replaceChildren(...rows.map((c) => {
      const toggle = element("button", { type: "button", "aria-expanded": "false", title: "Show this workflow's steps", text: "▸ " + c.campaignId });
      toggle.addEventListener("click", () => toggleSteps(toggle, c.campaignId));
      return element("tr", { "data-campaign": c.campaignId },
        element("td", { className: "id" }, toggle),
        element("td", { className: "num", text: money(c.costMicros) }),
        element("td", { className: "num", text: String(c.requests) }),
        element("td", { className: "num", text: c.tokens.total.toLocaleString("en-US") }),
        element("td", { className: "num", text: axisUsd(c.costPerMessage) }),
        element("td", { className: "num", text: (c.fallbackShare * 100).toFixed(0) + " %" }),
        element("td", {}, ...c.providers.map((p) => element("span", { className: "provider" },
          swatch(p.provider), `${p.provider} ${money(p.costMicros)} `))));
    }));
  }

  async function toggleSteps(button, workflowId) {
    const row = button.closest("tr");
    const open = row.nextElementSibling && row.nextElementSibling.classList.contains("steps") ? row.nextElementSibling : null;
    if (open) {
      open.remove();
      button.setAttribute("aria-expanded", "false");
      button.textContent = "▸ " + workflowId;
      return;
    }
    const cell = element("td", { colspan: "7", text: "Loading the steps…" });
    row.after(element("tr", { className: "steps", "data-steps-of": workflowId }, cell));
    button.setAttribute("aria-expanded", "true");
    button.textContent = "▾ " + workflowId;
    try {
      const workflow = await call(`api/v2/campaigns/status?${new URLSearchParams({ workflowId })}`);
      const head = element("tr", {}, ...["Step", "Status", "Provider", "Model", "Attempts", "Fallbacks", "Tokens", "Cost", "Latency"]
        .map((name) => element("th", { scope: "col", text: name })));
      const steps = workflow.steps.map((step) => element("tr", { className: "step" },
        element("td", { text: step.name }),
        element("td", { text: step.status }),
        element("td", { text: step.provider || "—" }),
        element("td", { text: step.model || "—" }),
        element("td", { text: step.attempts.map((a) => `${a.provider}:${a.status}`).join(", ") || "—" }),
        element("td", { text: step.fallbackReasons.join(", ") || "none" }),
        element("td", { className: "num", text: String(step.tokens.total) }),
        element("td", { className: "num", text: usd(step.costMicros, 6) }),
        element("td", { className: "num", text: `${step.latencyMs} ms` })));
      cell.replaceChildren(
        element("p", { text: `${workflow.type}, ${workflow.status}, ${workflow.steps.length} step(s), created ${workflow.createdAt}` }),
        element("table", { className: "data" }, element("thead", {}, head), element("tbody", {}, ...steps)));
    } catch (error) {
      cell.textContent = error.message;
    }
  }

  // Admins only: the running routing experiments (the list answers them with their results).
  async function showExperiments() {
    const panel = $("experiments");
    panel.hidden = !state.admin;
    if (!state.admin) return;
    const body = $("experiments-table").tBodies[0];
    const listed = await call("api/v2/experiments?limit=50");
    const running = listed.experiments.filter((e) => e.status === "running");
    if (!running.length) {
      body.replaceChildren(element("tr", {}, element("td", { colspan: "6", text: "No experiment is running." })));
      return;
    }
    body.replaceChildren(...running.map((e) => {
      const results = e.results || { variants: [], verdict: null };
      const lines = (pick) => results.variants.map((v) => `${v.name}: ${pick(v)}`).join(" · ") || "—";
      return element("tr", { "data-experiment": e.id },
        element("th", { scope: "row", text: e.name }),
        element("td", { text: e.campaignType }),
        element("td", { text: e.variants.map((v) => `${v.name} (${v.share} %): ${v.route.map((c) => c.model).join(" → ")}`).join("; ") }),
        element("td", { className: "num", text: lines((v) => v.calls) }),
        element("td", { className: "num", text: lines((v) => `$${v.costPerCall.mean.toFixed(6)}`) }),
        element("td", { text: results.verdict || "—" }));
    }));
  }

  async function showHealth() {
    const body = $("health-table").tBodies[0];
    try {
      const response = await fetch("api/health/hybrid-orchestrator");
      const payload = await response.json();
      const health = payload && payload.checks ? payload : payload.data; // top-level {status, checks} or the envelope
      $("health-status").textContent = `— ${health.status}`;
      $("health-status").className = `sub status-${health.status}`;
      body.replaceChildren(...Object.entries(health.checks).map(([name, check]) => {
        const detail = [];
        if (check.detail) detail.push(check.detail);
        for (const [circuit, circuitState] of Object.entries(check.circuits || {})) detail.push(`${circuit}: ${circuitState}`);
        for (const [queue, depth] of Object.entries(check.depths || {})) detail.push(`${queue}: ${depth} waiting`);
        return element("tr", { "data-check": name },
          element("th", { scope: "row", text: name }),
          element("td", { className: `status-${check.status}`, text: check.status }),
          element("td", { className: "num", text: `${check.latencyMs} ms` }),
          element("td", { text: detail.join("; ") || "—" }));
      }));
    } catch (error) {
      body.replaceChildren(element("tr", {}, element("td", { colspan: "4", text: `The health route did not answer: ${error.message}` })));
    }
  }

  // ---- loading --------------------------------------------------------------------------------------------

  async function load() {
    const error = $("error");
    error.hidden = true;
    try {
      const stats = await call(`api/v2/costs/stats?${query({})}`);
      if (state.admin === null) state.admin = stats.scope.kind === "all";
      showWho(stats);
      if (!$("to-input").value) {
        $("to-input").value = stats.date;
        $("from-input").value = addDays(stats.date, 1 - DEFAULT_DAYS);
      }
      const first = $("from-input").value, last = $("to-input").value, groupBy = $("group-input").value;
      // One request at a time: the local server runs every handler in one process, where Powertools keeps the
      // request being resolved in a class attribute all resolvers share; deployed, each is a few ms anyway.
      const csv = await call(`api/v2/costs/export?${query({ from: first, to: last, groupBy, format: "csv" })}`, { csv: true });
      const monthDays = await call(`api/v2/costs/breakdown?${query({ from: stats.month + "-01", to: stats.date, groupBy: "day" })}`);
      const forecast = await call(`api/v2/costs/forecast?${query({})}`);
      const comparison = await call(`api/v2/costs/compare?${query({ period: $("period-input").value })}`);
      const campaigns = await call(`api/v2/campaigns/costs?${query({ from: first, to: last, limit: "100" })}`);
      const rows = parseCsv(csv);
      showStats(stats);
      showDaily(rows, first, last, groupBy, stats.thresholds || []);
      showMonth(stats, monthDays, forecast, stats.thresholds || []);
      showComparison(comparison);
      state.campaigns = campaigns.campaigns;
      $("campaigns-range").textContent = `(${campaigns.from} – ${campaigns.to}, ${campaigns.total} with spend)`;
      showCampaigns();
      await showExperiments();
      $("empty").hidden = stats.monthTotalMicros > 0 || rows.some((r) => r.micros > 0) || comparison.total.previousMicros > 0;
    } catch (problem) {
      if (problem instanceof TokenRefused) {
        askForToken(problem.message);
        return;
      }
      error.textContent = problem.message;
      error.hidden = false;
    }
  }

  function showWho(stats) {
    const who = $("who");
    const name = (state.claims && state.claims.sub) || "?";
    $("user-field").hidden = !state.admin;
    if (state.admin) {
      const whose = stats.scope.kind === "all" ? "everyone's spend" : `${stats.scope.userId}'s spend`;
      who.replaceChildren("Signed in as ", element("strong", { text: name }), ` (admin) — showing ${whose}.`);
    } else {
      who.replaceChildren("Signed in as ", element("strong", { text: name }),
        " — not an admin's token: you see only your own spend.");
    }
  }

  async function downloadCsv() {
    const params = { from: $("from-input").value, to: $("to-input").value, groupBy: $("group-input").value, format: "csv" };
    try {
      const text = await call(`api/v2/costs/export?${query(params)}`, { csv: true });
      const link = element("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })),
        download: `costs_${params.from}_${params.to}_by_${params.groupBy}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (problem) {
      if (problem instanceof TokenRefused) askForToken(problem.message);
      else { $("error").textContent = problem.message; $("error").hidden = false; }
    }
  }

  function start() {
    takeTokenFromLink();
    state.token = sessionStorage.getItem(TOKEN_KEY);
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
      $("token-input").value = "";
      begin();
    });
    $("forget-token").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      begin();
    });
    $("controls").addEventListener("submit", (event) => {
      event.preventDefault();
      state.userId = state.admin ? $("user-input").value.trim() : "";
      load();
    });
    $("export-button").addEventListener("click", downloadCsv);
    for (const th of $("campaigns-table").tHead.rows[0].cells) {
      const button = th.querySelector("button");
      if (!button) continue;
      button.addEventListener("click", () => {
        const key = th.dataset.key;
        state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : key === "campaignId" ? 1 : -1 };
        showCampaigns();
      });
    }
    begin();
  }

  function begin() {
    state.token = sessionStorage.getItem(TOKEN_KEY);
    state.admin = null;
    state.userId = "";
    const problem = tokenProblem(state.token);
    if (problem) {
      askForToken(problem);
      showHealth();
      return;
    }
    state.claims = decodeClaims(state.token);
    $("token-panel").hidden = true;
    $("main").hidden = false;
    $("forget-token").hidden = false;
    load().then(showHealth).then(() => { document.body.dataset.loaded = "true"; }); // the browser tests wait for it
  }

  document.addEventListener("DOMContentLoaded", start);
})();
