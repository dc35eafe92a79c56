// The wallboard: one tile per queue, the goals, the agents, fed by server-sent events from
// /live/stream. Plain DOM code, no framework, no build step, nothing fetched from elsewhere.
//
// The page knows no figure, threshold or target by name: labels, formats, tooltips and
// which way a target points come with the state (`figures`, `channel_figures`, `series`,
// from pipeline/wallboard/board.py), and every judgement (met, near, missed, low, on track)
// is the server's. The page only filters (URL parameters), counts agents by state, and
// sizes itself to the screen. No keyboard: everything is set in the URL.
"use strict";

const ICONS = { met: "✔", near: "▲", missed: "✖", low: "◌", none: "" };
const WORDS = { met: "ON TARGET", near: "CLOSE", missed: "MISSED", low: "LOW VOLUME", none: "" };
const SVG = "http://www.w3.org/2000/svg";
const INTERVAL_MS = 15 * 60 * 1000;
// The type floor at a 1920x1080 screen, in CSS pixels, scaled with the screen (docs/demo.md):
// figures are at least 1 rem and the smallest text 0.9 rem, so the root size never goes below
// FIGURE_MIN_PX. The root size is the largest that fits the screen without scrolling.
const FIGURE_MIN_PX = 18;
const ROOT_MAX_PX = 40;
const MAX_COLUMNS = 6;

// ?tenant=acme&queue=sales,support&team=north&theme=light&view=queues|agents
const PARAMS = new URLSearchParams(location.search);
function listParam(name) {
  const value = PARAMS.get(name);
  return value ? value.split(",").map((s) => s.trim()).filter(Boolean) : null;
}
const FILTER = { tenant: listParam("tenant"), queue: listParam("queue"), team: listParam("team") };
const VIEW = ["queues", "agents"].includes(PARAMS.get("view")) ? PARAMS.get("view") : "all";
document.documentElement.dataset.theme = PARAMS.get("theme") === "light" ? "light" : "dark";
document.documentElement.dataset.view = VIEW;

function format(value, kind) {
  if (value === null || value === undefined) return "—";
  if (kind === "count" || kind === "score") return String(Math.round(value));
  if (kind === "percent") return Math.round(value * 100) + "%";
  const seconds = Math.round(value);
  if (seconds < 60) return seconds + " s";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + ":" + String(seconds % 60).padStart(2, "0");
  return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0");
}

// A floor is a target to reach, a limit one to stay under (the spec's `goal`).
function goalText(spec, target) {
  if (target === null || target === undefined) return "";
  return (spec.goal === "floor" ? "target ≥ " : "limit ") + format(target, spec.format);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function held(node, value) {
  node.dataset.value = value === null || value === undefined ? "" : String(value);
  return node;
}

// --- what the URL selects -----------------------------------------------------------------

function wanted(list, value) {
  return list === null || list.includes(value);
}

function teamQueues(agents) {
  // A team's wall shows the queues its agents serve.
  if (FILTER.team === null) return null;
  const queues = new Set();
  for (const a of agents) if (wanted(FILTER.team, a.team)) for (const q of a.queues) queues.add(a.tenant + "/" + q);
  return queues;
}

function selectQueues(state) {
  const served = teamQueues(state.agents);
  return state.queues.filter((q) => wanted(FILTER.tenant, q.tenant) && wanted(FILTER.queue, q.queue)
    && (served === null || served.has(q.tenant + "/" + q.queue)));
}

function selectAgents(state) {
  return state.agents.filter((a) => wanted(FILTER.tenant, a.tenant) && wanted(FILTER.team, a.team)
    && (FILTER.queue === null || a.queues.some((q) => FILTER.queue.includes(q))));
}

function selectGoals(state) {
  // A goal over every tenant (or queue) concerns every filtered wall.
  return state.goals.filter((g) => (g.tenant === null || wanted(FILTER.tenant, g.tenant))
    && (g.queue === null || wanted(FILTER.queue, g.queue)));
}

// --- a queue's tile -----------------------------------------------------------------------

function figure(queue, spec) {
  const value = queue.figures[spec.key];
  const status = queue.status[spec.key] || "none";
  const box = held(el("div", `fig s-${status}` + (spec.big ? " big" : "")), value);
  box.dataset.figure = spec.key;
  box.dataset.status = status;
  const goal = spec.target ? goalText(spec, queue.targets[spec.target]) : "";
  const low = status === "low" ? " (too few contacts to judge)" : "";
  // A queue's own hover text (the service-level variants) follows the figure's definition.
  const extra = queue.hover && queue.hover[spec.key];
  const tip = extra ? `${spec.tooltip}\n${extra}` : spec.tooltip;
  box.title = tip + (goal ? ` ${goal[0].toUpperCase()}${goal.slice(1)}${low}.` : "");
  const head = el("span", "label");
  if (ICONS[status]) {
    const icon = el("span", "icon", ICONS[status]);
    icon.setAttribute("aria-label", WORDS[status]);
    head.append(icon);
  }
  head.append(document.createTextNode(spec.label));
  box.append(head, el("span", "value", format(value, spec.format)));
  // The big figures say their target under them; the others in their tooltip.
  if (goal && spec.big) box.append(el("span", "goal", goal + low));
  return box;
}

function agentStates(queue) {
  const line = el("p", "states");
  line.title = "Agents listing the queue, by state (latest agent.state event).";
  for (const [state, count] of Object.entries(queue.agents)) {
    const item = held(el("span", `state st-${state}`), count);
    item.dataset.state = state;
    item.append(el("b", "", String(count)), document.createTextNode(" " + state));
    line.append(item);
  }
  return line;
}

function ageBands(labels, counts, callbacks) {
  const bands = el("div", "ages");
  bands.title = "Contacts waiting now, by how long they have waited.";
  labels.forEach((label, i) => {
    const band = held(el("span", "band"), counts[i]);
    band.dataset.band = label;
    band.append(el("span", "label", label), el("b", "", String(counts[i])));
    bands.append(band);
  });
  const cb = held(el("span", "band callbacks"), callbacks);
  cb.dataset.band = "callbacks";
  cb.title = "Callbacks waiting, apart from live callers (also in the bands).";
  cb.append(el("span", "label", "callbacks"), el("b", "", String(callbacks)));
  bands.append(cb);
  return bands;
}

// "needs 14 · has 12": the queue's staffing advice, worded and explained by the JSON's spec.
function staffingLine(queue, spec) {
  const line = el("span", "staffing");
  const advice = queue.staffing;
  if (!spec || !advice || advice.required === null || advice.required === undefined) {
    line.hidden = true;
    return line;
  }
  line.dataset.required = String(advice.required);
  line.dataset.staffed = String(advice.staffed);
  line.dataset.gap = String(advice.gap);
  if (advice.gap > 0) line.classList.add("short");
  line.title = spec.tooltip;
  line.textContent = spec.label
    .replace("{required}", String(advice.required))
    .replace("{staffed}", String(advice.staffed));
  return line;
}

function channelTable(queue, specs) {
  const table = el("table", "channels");
  const head = el("tr");
  const corner = el("th", "", "channel");
  corner.title = "A row per channel the queue serves, each judged against its own threshold and targets.";
  head.append(corner);
  for (const spec of specs) {
    const th = el("th", "", spec.label);
    th.title = spec.tooltip;
    head.append(th);
  }
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  for (const row of queue.channels) {
    const tr = el("tr");
    tr.dataset.channel = row.channel;
    const name = el("th", "", row.channel);
    name.title = `${row.channel}: service-level threshold ${format(row.threshold_s, "duration")}`
      + (row.async ? "; an async channel: the wait is the first-response time." : ".");
    tr.append(name);
    for (const spec of specs) {
      const status = row.status[spec.key] || "none";
      const value = row.figures[spec.key];
      const td = held(el("td", `s-${status}`), value);
      td.dataset.channelFigure = spec.key;
      td.dataset.status = status;
      const goal = spec.target ? goalText(spec, row.targets[spec.target]) : "";
      td.title = spec.tooltip + (goal ? ` ${row.channel}: ${goal}.` : "");
      if (ICONS[status]) td.append(el("span", "icon", ICONS[status]));
      td.append(el("span", "value", format(value, spec.format)));
      tr.append(td);
    }
    table.tBodies[0].append(tr);
  }
  return table;
}

// Where the table has no room (many queues on one screen): each channel's waiting and oldest.
function channelLine(queue, specs) {
  const line = el("p", "chan-line");
  const oldest = specs.find((spec) => spec.key === "longest_wait_s");
  line.title = specs.filter((spec) => spec.big).map((spec) => `${spec.label}: ${spec.tooltip}`).join("\n");
  for (const row of queue.channels) {
    const status = row.status[oldest.key] || "none";
    const item = el("span", `chan s-${status}`);
    item.dataset.channel = row.channel;
    item.dataset.value = String(row.figures.in_queue);
    item.append(document.createTextNode(row.channel + " "), el("b", "", format(row.figures.in_queue, "count")));
    if (ICONS[status]) item.append(el("span", "icon", " " + ICONS[status]));
    item.append(el("b", "", " " + format(row.figures[oldest.key], oldest.format)));
    line.append(item);
  }
  return line;
}

function sparkline(queue, spec, watermarkMs) {
  const wrap = el("div", "spark-wrap");
  const points = queue.series.map((p) => [Date.parse(p.start), p[spec.key]]);
  if (!points.length) return wrap;
  const first = points[0][0];
  const last = Math.max(points[points.length - 1][0], watermarkMs - (watermarkMs % INTERVAL_MS));
  const span = Math.max(1, (last - first) / INTERVAL_MS);
  const width = 100, height = 30;
  const x = (t) => ((t - first) / INTERVAL_MS / span) * width;
  const y = (v) => height - v * height;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", `-2 -2 ${width + 4} ${height + 4}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const title = document.createElementNS(SVG, "title");
  title.textContent = spec.tooltip;
  svg.append(title);
  const target = queue.targets[spec.target];
  const missed = (v) => (spec.goal === "floor" ? v < target : v > target);
  if (target !== null && target !== undefined) {
    const line = document.createElementNS(SVG, "line");
    line.setAttribute("class", "target");
    line.setAttribute("x1", "0");
    line.setAttribute("x2", String(width));
    line.setAttribute("y1", String(y(target)));
    line.setAttribute("y2", String(y(target)));
    svg.append(line);
  }
  // A gap where an interval had nothing answered or abandoned: one polyline per run.
  let run = [];
  const flush = () => {
    if (run.length) {
      const poly = document.createElementNS(SVG, "polyline");
      poly.setAttribute("class", "line");
      poly.setAttribute("points", run.length === 1 ? run[0] + " " + run[0] : run.join(" "));
      svg.append(poly);
    }
    run = [];
  };
  for (const [t, v] of points) {
    if (v === null) { flush(); continue; }
    run.push(`${x(t).toFixed(2)},${y(v).toFixed(2)}`);
    if (target !== null && target !== undefined && missed(v)) {
      // Missed intervals get a mark below the line, so they show without colour too.
      const mark = document.createElementNS(SVG, "rect");
      mark.setAttribute("class", "miss");
      mark.setAttribute("x", (x(t) - 0.6).toFixed(2));
      mark.setAttribute("y", String(height - 1.5));
      mark.setAttribute("width", "1.2");
      mark.setAttribute("height", "3");
      svg.append(mark);
    }
  }
  flush();
  const label = el("div", "spark-label");
  const hhmm = (t) => new Date(t).toISOString().slice(11, 16) + "Z";
  label.append(el("span", "", hhmm(first)), el("span", "", spec.label), el("span", "", hhmm(last)));
  wrap.append(svg, label);
  return wrap;
}

function tile(queue, state, watermarkMs) {
  const card = el("article", `tile s-${queue.overall}`);
  card.dataset.tenant = queue.tenant;
  card.dataset.queue = queue.queue;
  card.dataset.overall = queue.overall;
  const head = el("h2");
  const name = el("span", "name", queue.queue);
  if (queue.tenant !== "default") name.append(el("span", "tenant", " · " + queue.tenant));
  const badge = el("span", "badge");
  if (ICONS[queue.overall]) badge.textContent = ICONS[queue.overall] + " " + WORDS[queue.overall];
  // In the title line: what the queue has beside what it needs, and no line more to fit.
  head.append(name, staffingLine(queue, state.staffing), badge);
  const top = el("div", "figs top");
  const rest = el("div", "figs rest");
  for (const spec of state.figures) (spec.big ? top : rest).append(figure(queue, spec));
  const side = el("div", "side");
  side.append(agentStates(queue), ageBands(state.age_bands, queue.age_bands, queue.callbacks_waiting),
    channelTable(queue, state.channel_figures), channelLine(queue, state.channel_figures), sparkline(queue, state.series, watermarkMs));
  const main = el("div", "main");
  main.append(top, rest);
  const body = el("div", "tile-body");
  body.append(main, side);
  card.append(head, body);
  return card;
}

// --- alerts, goals, agents ----------------------------------------------------------------

// Firing alerts one by one; those breached but not yet for their duration in one line (their
// figures are marked missed on the tiles already).
function alertLine(alert, spec) {
  const kind = spec.format;
  const line = el("p", "alert");
  line.dataset.alert = alert.name;
  line.dataset.queue = alert.queue;
  line.title = `${alert.name}: ${spec.tooltip}`;
  line.append(el("b", "", "✖ ALERT "));
  line.append(document.createTextNode(
    `${alert.queue}: ${alert.label} ${format(alert.value, kind)}, ` +
    `${spec.goal === "floor" ? "target" : "limit"} ${format(alert.target, kind)}, for ${format(alert.held_s, "duration")}`));
  return line;
}

function pendingLine(alerts, byKey) {
  const line = held(el("p", "alert pending"), alerts.length);
  line.dataset.pending = String(alerts.length);
  line.title = alerts.map((a) => `${a.queue}: ${a.label} ${format(a.value, byKey[a.figure].format)} for `
    + `${format(a.held_s, "duration")}, alerts after ${format(a.for_s, "duration")}`).join("\n");
  line.append(el("b", "", "▲ BREACHING "), document.createTextNode(
    `${alerts.length} not yet for long enough to alert`));
  return line;
}

const TRACK = { true: ["on", "✔ ON TRACK"], false: ["off", "✖ OFF TRACK"], null: ["none", "no data yet"] };

function goalCard(goal) {
  const [cls, word] = TRACK[goal.on_track];
  const card = held(el("div", `goal-card g-${cls}`), goal.value);
  card.dataset.goal = goal.name;
  card.dataset.track = cls;
  const where = [goal.tenant, goal.queue].filter((x) => x !== null).join(" · ") || "all queues";
  card.title = `${goal.label} (${goal.window}) of ${where}: from ${format(goal.baseline, goal.format)} `
    + `on ${goal.start} to ${format(goal.target, goal.format)} by ${goal.due}; the straight line `
    + `between them is at ${format(goal.plan, goal.format)} on ${goal.day}.`;
  card.append(el("span", "label", `${goal.name} · ${where}`),
    el("span", "value", format(goal.value, goal.format)),
    el("span", "plan", `plan ${format(goal.plan, goal.format)} · ${format(goal.target, goal.format)} by ${goal.due}`),
    el("span", "track", word));
  return card;
}

function stateCounts(agents) {
  const counts = {};
  for (const a of agents) counts[a.state] = (counts[a.state] || 0) + 1;
  return counts;
}

// The floor, per team (agents without a team together): how many in each state, and why away.
function teamSummary(agents) {
  const teams = new Map();
  for (const a of agents) {
    const key = a.team === null ? "" : a.team;
    if (!teams.has(key)) teams.set(key, []);
    teams.get(key).push(a);
  }
  return [...teams.keys()].sort().map((team) => {
    const members = teams.get(team);
    const card = el("div", "team-card");
    card.dataset.team = team;
    card.title = "Agents by state (latest agent.state event); away reasons where the platform gives them.";
    card.append(el("span", "label", team === "" ? (teams.size > 1 ? "no team" : "all agents") : team));
    const counts = stateCounts(members);
    for (const [state, count] of Object.entries(counts).sort()) {
      const item = held(el("span", `state st-${state}`), count);
      item.dataset.state = state;
      item.append(el("b", "", String(count)), document.createTextNode(" " + state));
      card.append(item);
    }
    const reasons = {};
    for (const a of members) if (a.reason) reasons[a.reason] = (reasons[a.reason] || 0) + 1;
    const text = Object.entries(reasons).sort().map(([r, n]) => `${n} ${r}`).join(", ");
    if (text) card.append(el("span", "reasons", text));
    return card;
  });
}

// Every agent: state, time in it, away reason, what it serves now, occupancy.
function agentCard(agent) {
  const card = el("div", `agent st-${agent.state}`);
  card.dataset.agent = agent.agent_id;
  card.dataset.tenant = agent.tenant;
  card.dataset.state = agent.state;
  card.title = `${agent.agent_id}${agent.team ? " (" + agent.team + ")" : ""}: ${agent.state} since `
    + `${agent.since}; serves ${agent.queues.join(", ")}. Occupancy: busy + after-contact work `
    + "over busy + after-contact work + available.";
  const doing = agent.serving_queue ? `${agent.serving_queue}/${agent.serving_channel}` : (agent.reason || "");
  card.append(el("span", "name", agent.agent_id),
    el("span", "word", agent.state),
    held(el("span", "in-state", format(agent.in_state_s, "duration")), agent.in_state_s),
    el("span", "doing", doing),
    held(el("span", "occ", format(agent.occupancy["15m"], "percent")), agent.occupancy["15m"]));
  return card;
}

// --- the page ----------------------------------------------------------------------------

function coverage(status) {
  // Figures that may be old (a partition missing, or silent past the stale limit) are marked,
  // never shown as live.
  const line = document.getElementById("coverage");
  const ago = status.newest_update_s === null ? "no update yet" : `updated ${status.newest_update_s} s ago`;
  let text = `${status.present} of ${status.partitions} partitions · ${ago}`;
  if (status.stale.length) text += ` · ${status.stale.length} stale: figures may be old`;
  else if (status.present < status.partitions) text += " · figures are partial";
  line.textContent = text;
  line.className = status.whole ? "whole" : "partial";
  document.body.dataset.whole = status.whole ? "true" : "false";
}

function filterLine() {
  const parts = Object.entries(FILTER).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v.join(", ")}`);
  document.getElementById("filter").textContent = parts.join(" · ");
}

let shape = "";

function render(state) {
  coverage(state.status);
  const watermark = document.getElementById("watermark");
  watermark.dataset.value = String(state.watermark_us);
  watermark.textContent = state.watermark ? state.watermark.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "…";
  const watermarkMs = state.watermark_us / 1000;
  const byKey = Object.fromEntries(state.figures.map((spec) => [spec.key, spec]));
  const queues = selectQueues(state);
  const agents = selectAgents(state);
  const goals = selectGoals(state);
  const shown = new Set(queues.map((q) => q.tenant + "/" + q.queue));
  const tiles = document.getElementById("tiles");
  if (state.queues.length) {
    tiles.replaceChildren(...queues.map((q) => tile(q, state, watermarkMs)));
    if (!queues.length) tiles.append(el("p", "empty", "No queue matches the URL's filter."));
  }
  const alerts = state.alerts.filter((a) => shown.has(a.tenant + "/" + a.queue));
  const pending = alerts.filter((a) => !a.firing);
  document.getElementById("alerts").replaceChildren(
    ...alerts.filter((a) => a.firing).map((alert) => alertLine(alert, byKey[alert.figure])),
    ...(pending.length ? [pendingLine(pending, byKey)] : []));
  document.getElementById("goals").replaceChildren(...goals.map(goalCard));
  document.getElementById("teams").replaceChildren(...teamSummary(agents));
  const cards = VIEW === "agents" ? agents.map(agentCard) : [];
  document.getElementById("agents").replaceChildren(...cards);
  document.body.dataset.ready = state.queues.length ? "true" : "false";
  const now = [queues.length, goals.length, agents.length, state.alerts.length, innerWidth, innerHeight,
    queues.map((q) => q.channels.length).join()].join("|");
  if (now !== shape || !fits()) {
    shape = now;
    fit(VIEW === "agents" ? 1 : queues.length);
  }
  if (VIEW === "agents") paginate(cards);
  latest = state;
}

// --- the agent panel in pages ----------------------------------------------------------------

// More agents than the screen holds at the floor: as many as fit a page, the pages in turn
// every ?page_s= seconds (default 15), or the one ?page= pins.
const PAGE_MS = 1000 * (Number(PARAMS.get("page_s")) || 15);
const PINNED = Number(PARAMS.get("page")) || null;
let latest = null;
let turn = 0;

function paginate(cards) {
  const panel = document.getElementById("agents");
  const label = document.getElementById("page");
  let lo = Math.min(1, cards.length), hi = cards.length;
  if (!fits()) {
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      panel.replaceChildren(...cards.slice(0, mid));
      label.textContent = "page 00 of 00";  // the label's room, while measuring
      if (fits()) lo = mid; else hi = mid - 1;
    }
    hi = lo;
  }
  const per = Math.max(1, hi);
  const pages = Math.max(1, Math.ceil(cards.length / per));
  const page = PINNED === null ? turn % pages : Math.min(PINNED, pages) - 1;
  panel.replaceChildren(...cards.slice(page * per, (page + 1) * per));
  label.textContent = pages > 1 ? `page ${page + 1} of ${pages}` : "";
  document.body.dataset.page = String(page + 1);
  document.body.dataset.pages = String(pages);
  document.body.dataset.fitted = fits() ? "true" : "false";
}

if (VIEW === "agents" && PINNED === null) {
  setInterval(() => { turn += 1; if (latest !== null) render(latest); }, PAGE_MS);
}

// --- sized to the screen -------------------------------------------------------------------

function scale() {
  return Math.min(innerWidth / 1920, innerHeight / 1080);
}

function fits() {
  const root = document.documentElement;
  if (root.scrollHeight > innerHeight || root.scrollWidth > innerWidth) return false;
  // A figure wider than its box would spill over its neighbour (labels may end in "…"; their
  // tooltip has them whole).
  for (const node of document.querySelectorAll(".value, .channels td, .channels th")) {
    if (node.scrollWidth > node.clientWidth + 1) return false;
  }
  return true;
}

function setSize(px, columns) {
  const root = document.documentElement;
  root.style.fontSize = px + "px";
  root.style.setProperty("--columns", String(columns));
}

// The largest root size (whole pixels) at which the page fits, for each number of columns;
// the best wins. Nothing gets smaller than the floor: if even the densest layout does not
// fit, the page scrolls rather than shrinks.
function search(count, floor, ceiling) {
  let best = { px: floor, columns: Math.min(Math.max(count, 1), MAX_COLUMNS), fits: false };
  for (let columns = 1; columns <= Math.min(Math.max(count, 1), MAX_COLUMNS); columns++) {
    let lo = floor, hi = ceiling;
    setSize(lo, columns);
    if (!fits()) continue;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      setSize(mid, columns);
      if (fits()) lo = mid; else hi = mid - 1;
    }
    if (!best.fits || lo > best.px) best = { px: lo, columns, fits: true };
  }
  return best;
}

// Density 0 shows everything; 1 drops the sparklines; 2 the channel tables too (each
// channel's waiting and oldest stay on one line).
const DENSITIES = ["0", "1", "2"];

function fit(count) {
  const floor = Math.max(10, Math.round(FIGURE_MIN_PX * scale()));
  const ceiling = Math.max(floor, Math.round(ROOT_MAX_PX * scale()));
  let best = null;
  for (const dense of DENSITIES) {
    document.body.dataset.dense = dense;
    best = search(count, floor, ceiling);
    if (best.fits) break;
  }
  setSize(best.px, best.columns);
  document.body.dataset.fitted = best.fits ? "true" : "false";
  document.body.dataset.fitPx = String(best.px);
}

addEventListener("resize", () => { shape = ""; });

// Tap (or click) anything that explains itself: its explanation stays until the next tap.
document.addEventListener("click", (event) => {
  const tip = document.getElementById("tip");
  const source = event.target.closest("[title]");
  if (!source) { tip.hidden = true; return; }
  tip.textContent = source.title;
  tip.hidden = false;
});

function connect() {
  filterLine();
  const status = document.getElementById("connection");
  const source = new EventSource("/live/stream");
  source.onopen = () => { status.textContent = "● live"; status.className = "conn-live"; };
  source.onerror = () => { status.textContent = "○ reconnecting"; status.className = "conn-wait"; };
  source.onmessage = (event) => render(JSON.parse(event.data));
}

connect();
