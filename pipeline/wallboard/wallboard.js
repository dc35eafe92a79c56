// The wallboard: one tile per queue, fed by server-sent events from the worker's
// /live/stream. Plain DOM code, no framework, no build step, nothing fetched from elsewhere.
"use strict";

const ICONS = { met: "✔", near: "▲", missed: "✖", low: "◌", none: "" };
const WORDS = { met: "ON TARGET", near: "CLOSE", missed: "MISSED", low: "LOW VOLUME", none: "" };
// The figures of a tile: [key in `figures`, label, format, target field, bigger type].
const FIGURES = [
  ["in_queue", "In queue", "count", null, true],
  ["longest_wait_s", "Longest wait", "duration", "longest_wait_s", true],
  ["agents_available", "Available", "count", null, true],
  ["service_level_15m", "SL 15 min", "percent", "service_level", false],
  ["service_level_today", "SL today", "percent", "service_level", false],
  ["asa_s", "ASA 15 min", "duration", "asa_s", false],
  ["abandon_rate", "Abandoned", "percent", "abandon_rate", false],
  ["aht_s", "AHT 15 min", "duration", null, false],
];
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

function goalText(field, target, kind) {
  if (target === null || target === undefined) return "";
  return (field === "service_level" ? "target ≥ " : "limit ") + format(target, kind);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function figure(queue, [key, label, kind, field, big]) {
  const value = queue.figures[key];
  const status = queue.status[key] || "none";
  const box = el("div", `fig s-${status}` + (big ? " big" : ""));
  box.dataset.figure = key;
  box.dataset.value = value === null || value === undefined ? "" : String(value);
  box.dataset.status = status;
  const head = el("span", "label");
  if (ICONS[status]) {
    const icon = el("span", "icon", ICONS[status]);
    icon.setAttribute("aria-label", WORDS[status]);
    head.append(icon);
  }
  head.append(document.createTextNode(label));
  box.append(head, el("span", "value", format(value, kind)));
  const goal = field ? goalText(field, queue.targets[field], kind) : "";
  if (goal) box.append(el("span", "goal", status === "low" ? goal + " (too few contacts)" : goal));
  return box;
}

function sparkline(queue, watermarkMs) {
  const wrap = el("div");
  const points = queue.series.map((p) => [Date.parse(p.start), p.service_level]);
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
  title.textContent = "Service level per 15-minute interval today";
  svg.append(title);
  const target = queue.targets.service_level;
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
    if (target !== null && target !== undefined && v < target) {
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
  label.append(el("span", "", hhmm(first)), el("span", "", "service level today"), el("span", "", hhmm(last)));
  wrap.append(svg, label);
  return wrap;
}

function tile(queue, watermarkMs) {
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
  for (const spec of FIGURES) (spec[4] ? top : rest).append(figure(queue, spec));
  card.append(head, top, rest, sparkline(queue, watermarkMs));
  return card;
}

function alertLine(alert) {
  const kind = alert.figure.startsWith("service_level") || alert.figure === "abandon_rate" ? "percent" : "duration";
  const line = el("p", "alert" + (alert.firing ? "" : " pending"));
  line.dataset.alert = alert.name;
  const word = alert.firing ? "✖ ALERT" : "▲ BREACHING";
  const held = format(alert.held_s, "duration");
  const rest = alert.firing ? `for ${held}` : `for ${held}, alerts after ${format(alert.for_s, "duration")}`;
  line.append(el("b", "", word + " "));
  line.append(document.createTextNode(
    `${alert.queue}: ${alert.label} ${format(alert.value, kind)}, ` +
    `${alert.figure.startsWith("service_level") ? "target" : "limit"} ${format(alert.target, kind)}, ${rest}`));
  return line;
}

function render(state) {
  const watermark = document.getElementById("watermark");
  watermark.dataset.value = String(state.watermark_us);
  watermark.textContent = state.watermark ? state.watermark.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "…";
  const watermarkMs = state.watermark_us / 1000;
  const tiles = document.getElementById("tiles");
  if (state.queues.length) {
    tiles.replaceChildren(...state.queues.map((q) => tile(q, watermarkMs)));
  }
  document.getElementById("alerts").replaceChildren(...state.alerts.map(alertLine));
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
