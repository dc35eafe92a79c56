// The wallboard: one tile per queue, fed by server-sent events from the worker's
// /live/stream. Plain DOM code, no framework, no build step, nothing fetched from elsewhere.
"use strict";

const ICONS = { met: "✔", near: "▲", missed: "✖", low: "◌", none: "" };
const WORDS = { met: "ON TARGET", near: "CLOSE", missed: "MISSED", low: "LOW VOLUME", none: "" };
const SVG = "http://www.w3.org/2000/svg";
const INTERVAL_MS = 15 * 60 * 1000;

function format(value, kind) {
  if (value === null || value === undefined) return "—";
  if (kind === "count") return String(Math.round(value));
  if (kind === "percent") return Math.round(value * 100) + "%";
  const seconds = Math.round(value);
  if (seconds < 60) return seconds + " s";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return minutes + ":" + String(seconds % 60).padStart(2, "0");
  return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0");
}

// Each figure's label, format and judging come with the state (`figures`, from board.py):
// a floor is a target to reach, a limit one to stay under.
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

function figure(queue, spec) {
  const value = queue.figures[spec.key];
  const status = queue.status[spec.key] || "none";
  const box = el("div", `fig s-${status}` + (spec.big ? " big" : ""));
  box.dataset.figure = spec.key;
  box.title = (queue.hover && queue.hover[spec.key]) || spec.tooltip;
  box.dataset.value = value === null || value === undefined ? "" : String(value);
  box.dataset.status = status;
  const head = el("span", "label");
  if (ICONS[status]) {
    const icon = el("span", "icon", ICONS[status]);
    icon.setAttribute("aria-label", WORDS[status]);
    head.append(icon);
  }
  head.append(document.createTextNode(spec.label));
  box.append(head, el("span", "value", format(value, spec.format)));
  const goal = spec.target ? goalText(spec, queue.targets[spec.target]) : "";
  if (goal) box.append(el("span", "goal", status === "low" ? goal + " (too few contacts)" : goal));
  return box;
}

function sparkline(queue, spec, watermarkMs) {
  const wrap = el("div");
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

function tile(queue, specs, series, watermarkMs) {
  const card = el("article", `tile s-${queue.overall}`);
  card.dataset.tenant = queue.tenant;
  card.dataset.queue = queue.queue;
  const head = el("h2");
  const name = el("span", "name", queue.queue);
  if (queue.tenant !== "default") name.append(el("span", "tenant", " · " + queue.tenant));
  const badge = el("span", "badge");
  if (ICONS[queue.overall]) badge.textContent = ICONS[queue.overall] + " " + WORDS[queue.overall];
  head.append(name, badge);
  const top = el("div", "figs top");
  const rest = el("div", "figs");
  for (const spec of specs) (spec.big ? top : rest).append(figure(queue, spec));
  card.append(head, top, rest, sparkline(queue, series, watermarkMs));
  return card;
}

function alertLine(alert, spec) {
  const kind = spec.format;
  const line = el("p", "alert" + (alert.firing ? "" : " pending"));
  line.dataset.alert = alert.name;
  const word = alert.firing ? "✖ ALERT" : "▲ BREACHING";
  const held = format(alert.held_s, "duration");
  const rest = alert.firing ? `for ${held}` : `for ${held}, alerts after ${format(alert.for_s, "duration")}`;
  line.append(el("b", "", word + " "));
  line.append(document.createTextNode(
    `${alert.queue}: ${alert.label} ${format(alert.value, kind)}, ` +
    `${spec.goal === "floor" ? "target" : "limit"} ${format(alert.target, kind)}, ${rest}`));
  return line;
}

// How current the view is: every partition's latest state, and how long ago it came. Figures
// that may be old (a partition missing, or silent past the stale limit) are marked, never
// shown as live.
function coverage(status) {
  const line = document.getElementById("coverage");
  const ago = status.newest_update_s === null ? "no update yet" : `updated ${status.newest_update_s} s ago`;
  let text = `${status.present} of ${status.partitions} partitions · ${ago}`;
  if (status.stale.length) text += ` · ${status.stale.length} stale: figures may be old`;
  else if (status.present < status.partitions) text += " · figures are partial";
  line.textContent = text;
  line.className = status.whole ? "whole" : "partial";
  document.body.dataset.whole = status.whole ? "true" : "false";
}

function render(state) {
  coverage(state.status);
  const watermark = document.getElementById("watermark");
  watermark.dataset.value = String(state.watermark_us);
  watermark.textContent = state.watermark ? state.watermark.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "…";
  const watermarkMs = state.watermark_us / 1000;
  const specs = state.figures;
  const byKey = Object.fromEntries(specs.map((spec) => [spec.key, spec]));
  const tiles = document.getElementById("tiles");
  if (state.queues.length) {
    tiles.replaceChildren(...state.queues.map((q) => tile(q, specs, state.series, watermarkMs)));
  }
  document.getElementById("alerts").replaceChildren(
    ...state.alerts.map((alert) => alertLine(alert, byKey[alert.figure])));
  document.body.dataset.ready = state.queues.length ? "true" : "false";
}

function connect() {
  const status = document.getElementById("connection");
  const source = new EventSource("/live/stream");
  source.onopen = () => { status.textContent = "● live"; status.className = "conn-live"; };
  source.onerror = () => { status.textContent = "○ reconnecting"; status.className = "conn-wait"; };
  source.onmessage = (event) => render(JSON.parse(event.data));
}

connect();
