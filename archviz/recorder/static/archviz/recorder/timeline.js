// The flight recorder's timeline under every demo page: a lane per process, the markers,
// drag to zoom, click to scrub, replay at 0.25x-8x, and a banner that says REPLAY while one
// plays. It rides on the page's own lab socket (lib/socket.js shares it): a replay's frames
// are the page's usual state and trace frames, so the page's pictures redraw them.
import { replayRequest, replayStopRequest } from "../js/lib/protocol.js";
import { labFrames, labSocket } from "../js/lib/socket.js";
import { SPEEDS, barHeight, busyBuckets, clock, duration, segments, timeToX, xToTime } from "./model.js";

const SVG = "http://www.w3.org/2000/svg";
const LANE_H = 14;
const MARKER_ROW = 16;
const AXIS_ROW = 16;
const REFRESH_MS = 5000;
const DRAG_PX = 6;
const MARKER_COLOURS = { fault: "#dc2626", node: "#b45309", lesson: "#1d4ed8", instructor: "#7c3aed" };

function svgEl(name, attrs = {}) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function titled(el, text) {
  const title = svgEl("title");
  title.textContent = text;
  el.append(title);
  return el;
}

class Timeline {
  constructor(root) {
    this.root = root;
    this.instructor = root.dataset.instructor === "1";
    this.svg = root.querySelector("svg");
    this.range = root.querySelector("[data-range]");
    this.note = root.querySelector("[data-note]");
    this.speed = root.querySelector("[data-speed]");
    this.recording = root.querySelector("[data-recording]");
    this.everyone = root.querySelector("[data-everyone]");
    this.banner = document.getElementById("replay-banner");
    this.data = null;
    this.segs = [];
    this.cursor = null;
    this.zoom = null; // {start, end} while zoomed in
    this.replay = null; // the replay flag of the latest replayed frame
    this.drag = null;
    for (const s of SPEEDS) {
      const option = document.createElement("option");
      option.value = String(s);
      option.textContent = `${s}×`;
      option.selected = s === 1;
      this.speed.append(option);
    }
  }

  start() {
    labFrames.addEventListener("frame", (event) => this.onFrame(event.detail));
    this.root.querySelector("[data-play]").addEventListener("click", () => this.play());
    this.root.querySelector("[data-zoom-out]").addEventListener("click", () => this.zoomOut());
    this.banner.querySelector("button").addEventListener("click", () => this.backToLive());
    this.recording.addEventListener("change", () => this.zoomOut());
    this.svg.addEventListener("pointerdown", (e) => this.onDown(e));
    this.svg.addEventListener("pointermove", (e) => this.onMove(e));
    this.svg.addEventListener("pointerup", (e) => this.onUp(e));
    this.svg.addEventListener("keydown", (e) => this.onKey(e));
    window.addEventListener("resize", () => this.draw());
    setInterval(() => this.refresh(), REFRESH_MS);
  }

  onFrame(frame) {
    if (this.root.hidden && (frame.type === "state" || frame.type === "welcome")) {
      this.root.hidden = false; // this page has a lab socket: it can replay
      this.refresh();
    }
    if (frame.replay) {
      this.replay = frame.replay;
      this.cursor = frame.replay.at;
      this.showBanner();
      this.drawCursor();
    } else if (frame.type === "state" && this.replay) {
      this.replay = null; // a live state: the replay ended or was stopped
      this.showBanner();
      this.refresh();
    }
  }

  async refresh() {
    if (this.root.hidden || (this.data && (this.zoom || this.replay))) return;
    const params = new URLSearchParams({ recording: this.recording.value || "live" });
    if (this.zoom) {
      params.set("start", String(Math.round(this.zoom.start)));
      params.set("end", String(Math.round(this.zoom.end)));
    }
    let found;
    try {
      const response = await fetch(`/api/recorder/timeline?${params}`, { headers: { Accept: "application/json" } });
      found = await response.json();
      if (!response.ok) throw new Error(found.error || `HTTP ${response.status}`);
    } catch (err) {
      this.note.textContent = `The recording could not be read: ${err.message}`;
      return;
    }
    this.data = found;
    this.fillRecordings(found.recordings || ["live"]);
    this.draw();
  }

  fillRecordings(names) {
    const have = [...this.recording.options].map((o) => o.value);
    if (have.join() === names.join()) return;
    const chosen = this.recording.value || "live";
    this.recording.replaceChildren();
    for (const name of names) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name === "live" ? "this lab" : name;
      option.selected = name === chosen;
      this.recording.append(option);
    }
  }

  geometry() {
    const width = Math.max(200, this.svg.clientWidth || 300);
    const label = Math.min(110, Math.round(width * 0.24));
    return { width, label, plot: width - label - 6 };
  }

  draw() {
    const data = this.data;
    if (!data) return;
    this.svg.replaceChildren();
    if (!data.span) {
      this.range.textContent = "nothing recorded yet";
      this.note.textContent = "";
      return;
    }
    const lanes = Object.entries(data.lanes);
    const count = lanes.length ? lanes[0][1].length : 1;
    this.segs = segments(busyBuckets(data.lanes, data.markers, data.start, data.bucket_ms, count), data.start, data.bucket_ms);
    const { width, label, plot } = this.geometry();
    const height = MARKER_ROW + Math.max(1, lanes.length) * LANE_H + AXIS_ROW;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.svg.setAttribute("height", String(height));
    const x = (t) => label + timeToX(this.segs, t) * plot;
    this.drawIdle(x, height);
    const max = Math.max(1, ...lanes.flatMap(([, counts]) => counts));
    lanes.forEach(([name, counts], row) => this.drawLane(name, counts, row, x, max, label));
    this.drawMarkers(data.markers, x, height);
    this.drawAxis(x, height);
    this.drawCursor();
    this.range.textContent = `${clock(data.start)}–${clock(data.end)} (${duration(data.end - data.start)})${this.zoom ? " · zoomed" : ""}`;
    this.note.textContent = data.sampled ? "Busy recording: the lanes count its first 20,000 batches only." : "";
  }

  drawIdle(x, height) {
    for (const s of this.segs.filter((seg) => seg.idle)) {
      const rect = svgEl("rect", { x: x(s.t0), y: 0, width: Math.max(2, x(s.t1) - x(s.t0)), height: height - AXIS_ROW, class: "tl-idle" });
      this.svg.append(titled(rect, `idle for ${duration(s.t1 - s.t0)}: collapsed`));
    }
  }

  drawLane(name, counts, row, x, max, label) {
    const y = MARKER_ROW + row * LANE_H;
    const text = svgEl("text", { x: label - 4, y: y + LANE_H - 3, class: "tl-label", "text-anchor": "end" });
    text.textContent = name.length > 14 ? `${name.slice(0, 13)}…` : name;
    this.svg.append(titled(text, name));
    counts.forEach((n, i) => {
      const h = barHeight(n, max) * (LANE_H - 3);
      if (h <= 0) return;
      const t0 = this.data.start + i * this.data.bucket_ms;
      const x0 = x(t0);
      const bar = svgEl("rect", { x: x0, y: y + LANE_H - 1 - h, width: Math.max(1, x(t0 + this.data.bucket_ms) - x0 - 0.5), height: h, class: "tl-bar" });
      this.svg.append(titled(bar, `${name}: ${n} events from ${clock(t0)}`));
    });
  }

  drawMarkers(markers, x, height) {
    for (const m of markers) {
      const mx = x(m.ts);
      const colour = MARKER_COLOURS[m.kind] || "#57606a";
      const line = svgEl("line", { x1: mx, x2: mx, y1: MARKER_ROW - 2, y2: height - AXIS_ROW, stroke: colour, "stroke-width": 1, "stroke-dasharray": "2 2" });
      const mark = svgEl("path", { d: `M${mx - 5} 2 L${mx + 5} 2 L${mx} ${MARKER_ROW - 3} Z`, fill: colour, class: "tl-marker", "data-kind": m.kind });
      this.svg.append(line, titled(mark, `${clock(m.ts)} ${m.label}`));
    }
  }

  drawAxis(x, height) {
    const { label, plot } = this.geometry();
    const ticks = Math.max(2, Math.floor(plot / 90));
    let last = -Infinity;
    for (let k = 0; k <= ticks; k += 1) {
      const t = k === ticks ? this.data.end : xToTime(this.segs, k / ticks);
      const tx = x(t);
      if (tx - last < 72 && k !== ticks) continue; // collapsed stretches crowd the labels
      if (k === ticks && tx - last < 96) this.svg.lastElementChild?.remove();
      last = tx;
      const anchor = k === 0 ? "start" : k === ticks ? "end" : "middle";
      const text = svgEl("text", { x: tx, y: height - 3, class: "tl-axis", "text-anchor": anchor });
      text.textContent = clock(t);
      this.svg.append(text);
    }
    this.svg.append(svgEl("line", { x1: label, x2: label + plot, y1: height - AXIS_ROW, y2: height - AXIS_ROW, class: "tl-rule" }));
  }

  drawCursor() {
    this.svg.querySelector(".tl-cursor")?.remove();
    if (this.cursor === null || !this.data || !this.data.span) return;
    const { label, plot } = this.geometry();
    const cx = label + timeToX(this.segs, this.cursor) * plot;
    const height = Number(this.svg.getAttribute("height")) || 60;
    this.svg.append(svgEl("line", { x1: cx, x2: cx, y1: 0, y2: height - AXIS_ROW, class: "tl-cursor" }));
  }

  timeAt(event) {
    const box = this.svg.getBoundingClientRect();
    const { width, label, plot } = this.geometry();
    const px = ((event.clientX - box.left) / box.width) * width;
    return xToTime(this.segs, (px - label) / plot);
  }

  onDown(event) {
    if (!this.data || !this.data.span) return;
    this.drag = { x: event.clientX, t: this.timeAt(event) };
    this.svg.setPointerCapture(event.pointerId);
  }

  onMove(event) {
    if (!this.drag) return;
    this.svg.querySelector(".tl-select")?.remove();
    if (Math.abs(event.clientX - this.drag.x) < DRAG_PX) return;
    const { label, plot } = this.geometry();
    const [a, b] = [this.drag.t, this.timeAt(event)].sort((p, q) => p - q);
    const x0 = label + timeToX(this.segs, a) * plot;
    const x1 = label + timeToX(this.segs, b) * plot;
    this.svg.append(svgEl("rect", { x: x0, y: 0, width: x1 - x0, height: Number(this.svg.getAttribute("height")) - AXIS_ROW, class: "tl-select" }));
  }

  onUp(event) {
    if (!this.drag) return;
    const drag = this.drag;
    this.drag = null;
    this.svg.querySelector(".tl-select")?.remove();
    const t = this.timeAt(event);
    if (Math.abs(event.clientX - drag.x) >= DRAG_PX) {
      const [start, end] = [drag.t, t].sort((p, q) => p - q);
      this.zoom = { start, end };
      this.data = null;
      this.refresh();
      return;
    }
    this.cursor = t; // a click scrubs; while a replay plays, it seeks there
    this.drawCursor();
    if (this.replay) this.play();
  }

  onKey(event) {
    if (!this.data || !this.data.span) return;
    const step = (this.data.end - this.data.start) / 50;
    const now = this.cursor ?? this.data.start;
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      this.cursor = Math.min(this.data.end, Math.max(this.data.start, now + (event.key === "ArrowLeft" ? -step : step)));
      this.drawCursor();
      event.preventDefault();
    } else if (event.key === "Enter" || event.key === " ") {
      this.play();
      event.preventDefault();
    }
  }

  zoomOut() {
    this.zoom = null;
    this.data = null;
    this.cursor = null;
    this.refresh();
  }

  play() {
    const socket = labSocket();
    if (!socket || !this.data || !this.data.span) {
      this.say("Not connected: the replay cannot start.");
      return;
    }
    const start = Math.max(this.data.span[0], this.cursor ?? this.data.start);
    socket.send(replayRequest(start, Number(this.speed.value), {
      recording: this.recording.value !== "live" ? this.recording.value : undefined,
      everyone: this.instructor && this.everyone?.checked,
    }));
  }

  backToLive() {
    // An instructor's class replay stops for everyone; a learner leaves it for their tab only.
    const socket = labSocket();
    if (socket) socket.send(replayStopRequest(Boolean(this.replay?.everyone && this.instructor)));
  }

  showBanner() {
    const replay = this.replay;
    document.body.classList.toggle("replaying", Boolean(replay));
    this.banner.hidden = !replay;
    if (!replay) document.body.style.paddingTop = "";
    if (!replay) return;
    const who = replay.everyone ? ` · for the whole class${replay.by ? ` by ${replay.by}` : ""}` : "";
    this.banner.querySelector("[data-what]").textContent =
      `${clock(replay.at)} (${duration(replay.at - replay.start)} of ${duration(replay.end - replay.start)}) · ${replay.speed}×${who}`;
    // the banner is fixed over the top of the page: push the page down by its height, which
    // grows when it wraps on a phone
    document.body.style.paddingTop = `${this.banner.offsetHeight}px`;
  }

  say(text) {
    this.note.textContent = text;
  }
}

const root = document.getElementById("recorder");
if (root) new Timeline(root).start();
