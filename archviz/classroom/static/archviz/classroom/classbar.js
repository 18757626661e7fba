// The class bar on every page of a class. The instructor's tab publishes where it is (page,
// lesson step), what it points at, pause, and the step's question; a member's tab follows it
// (or stays put while free), answers the question, and sees the reveal. Everything goes
// over a lab socket that carries only the class's frames (?frames=forwarded); the server
// checks every command, so this script only asks.
import { el, text } from "/static/archviz/js/lib/dom.js";
import * as protocol from "/static/archviz/js/lib/protocol.js";
import { ReconnectingSocket } from "/static/archviz/js/lib/socket.js";
import { destination, elsewhere, followable, movedStep, presenterAction, rosterWords, wrapLabel } from "./follow.js";

const ROSTER_MS = 2000;
const FREE_KEY = "archviz.class.free"; // a member's choice survives their tab's page loads

function webSocketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

function lessonPanelData() {
  const node = document.getElementById("lesson-panel-data");
  return node ? JSON.parse(node.textContent) : null;
}

class ClassBar {
  constructor(root, data) {
    this.root = root;
    this.data = data;
    this.state = data.state;
    this.panel = lessonPanelData();
    this.step = null; // the lesson panel's step on this page, once it says
    this.field = (name) => root.querySelector(`[data-field="${name}"]`);
    this.button = (action) => root.querySelector(`[data-action="${action}"]`);
    this.pausedCover = document.getElementById("class-paused");
    this.free = sessionStorage.getItem(FREE_KEY) === "1";
    this.answered = null;
    this.socket = new ReconnectingSocket({
      url: webSocketUrl(data.ws_path),
      onMessage: (frame) => this.onFrame(frame),
      onStatus: (status) => status.state === "live" && this.onLive(),
    });
    document.addEventListener("archviz:lesson-step", (event) => this.onStep(event.detail));
    let resized = null;
    window.addEventListener("resize", () => {
      clearTimeout(resized);
      resized = setTimeout(() => this.redrawChart(), 200);
    });
    if (data.role === "instructor") this.pausedCover.addEventListener("click", () => this.togglePause());
  }

  start() {
    if (this.data.role === "instructor") this.startInstructor();
    else this.startMember();
    this.socket.start();
    this.draw();
    return this;
  }

  send(frame) {
    if (!this.socket.send(frame)) this.showError("not connected to the lab: trying again");
  }

  showError(reason) {
    const error = this.field("error");
    text(error, reason);
    error.hidden = !reason;
  }

  onFrame(frame) {
    if (frame.type === "class") {
      if (frame.state === null) return window.location.reload(); // the class ended
      if (frame.state.seq < this.state.seq) return; // an older picture, overtaken
      this.state = frame.state;
      this.draw();
    } else if (frame.type === "lagging") {
      this.socket.send(protocol.classStateRequest()); // a class frame may be among those missed
    } else if (frame.type === "class_roster") {
      this.drawRoster(frame);
    } else if (frame.type === "error" && String(frame.request).startsWith("class.")) {
      this.showError(frame.reason);
    } else if (frame.type === "ack" && frame.action !== "class.heartbeat") {
      this.showError("");
    }
  }

  onLive() {
    this.socket.send(protocol.classStateRequest()); // what changed while this page loaded
    if (this.data.role === "instructor") this.sendWhere();
    else this.heartbeat();
  }

  onStep(detail) {
    if (!this.panel || detail.lesson !== this.panel.slug) return;
    this.step = detail.step;
    if (this.data.role === "instructor") this.sendWhere();
    this.draw();
  }

  // --- the instructor ------------------------------------------------------------------

  startInstructor() {
    this.button("pause").addEventListener("click", () => this.togglePause());
    this.button("point").addEventListener("click", () => this.togglePointing());
    this.button("poll").addEventListener("click", () => this.askQuestion());
    this.button("reveal").addEventListener("click", () => this.send(protocol.classRevealRequest()));
    document.addEventListener("keydown", (event) => this.onKey(event));
    document.addEventListener("click", (event) => this.onPoint(event), true);
    setInterval(() => this.socket.isOpen && this.socket.send(protocol.classRosterRequest()), ROSTER_MS);
  }

  sendWhere() {
    if (!followable(window.location.pathname)) return;
    const where = { path: window.location.pathname };
    if (this.panel && this.step !== null) Object.assign(where, { lesson: this.panel.slug, step: this.step });
    this.socket.send(protocol.classGotoRequest(where));
  }

  onKey(event) {
    const inField = event.target.closest?.("input, textarea, select, [contenteditable]") !== null;
    const modified = event.altKey || event.ctrlKey || event.metaKey;
    const action = presenterAction(event.key, { inField, modified });
    if (!action) return;
    if (action === "pause") {
      this.togglePause();
    } else if (this.panel && this.step !== null) {
      const step = movedStep(this.step, action === "next" ? 1 : -1, this.panel.steps.length);
      document.dispatchEvent(new CustomEvent("archviz:lesson-goto", { detail: { step } }));
    } else {
      return; // no lesson on this page: leave the keys to it
    }
    event.preventDefault();
  }

  togglePause() {
    this.send(protocol.classPauseRequest(!this.state.paused));
  }

  togglePointing() {
    const pointing = this.button("point").getAttribute("aria-pressed") !== "true";
    this.button("point").setAttribute("aria-pressed", String(pointing));
    document.body.classList.toggle("class-pointing", pointing);
    if (!pointing) this.send(protocol.classHighlightRequest(null));
  }

  onPoint(event) {
    if (!document.body.classList.contains("class-pointing") || this.root.contains(event.target)) return;
    const target = event.target.closest("[id]");
    if (!target || target.id === "main") return;
    event.preventDefault();
    event.stopPropagation();
    this.send(protocol.classHighlightRequest(target.id));
  }

  askQuestion() {
    this.send(protocol.classPollRequest(this.panel.slug, this.step));
  }

  drawRoster(frame) {
    text(this.field("summary"), `${rosterWords(frame.roster)} · ${frame.answered} answered`);
    const counts = document.querySelector('[data-field="counts"]');
    if (counts) text(counts, rosterWords(frame.roster));
    const list = document.getElementById("class-roster");
    if (list) {
      list.replaceChildren(
        ...frame.roster.map((row) =>
          el("li", { class: `class-member class-${row.state}` }, el("span", {}, row.name), el("span", { class: "class-state" }, row.state)),
        ),
      );
    }
  }

  // --- a member ------------------------------------------------------------------------

  startMember() {
    this.button("mode").addEventListener("click", () => {
      this.free = !this.free;
      sessionStorage.setItem(FREE_KEY, this.free ? "1" : "0");
      this.heartbeat();
      this.draw();
    });
    setInterval(() => this.heartbeat(), this.data.heartbeat_ms);
  }

  heartbeat() {
    this.socket.send(protocol.classHeartbeatRequest(this.data.member, this.free ? "free" : "follow"));
  }

  follow() {
    const where = this.state.where;
    if (this.free || !where) return;
    if (elsewhere(where, window.location.pathname, window.location.search)) {
      window.location.assign(destination(where));
      return;
    }
    if (where.lesson && where.step !== null && where.step !== this.step) {
      document.dispatchEvent(new CustomEvent("archviz:lesson-goto", { detail: { step: where.step } }));
    }
  }

  // --- both ----------------------------------------------------------------------------

  draw() {
    this.root.dataset.seq = String(this.state.seq); // what the tests wait on: the frame arrived
    const paused = Boolean(this.state.paused);
    this.pausedCover.hidden = !paused;
    this.pausedCover.classList.toggle("class-blank", this.data.role === "instructor");
    if (this.data.role === "instructor") {
      this.button("pause").setAttribute("aria-pressed", String(paused));
      text(this.button("pause"), paused ? "Resume" : "Pause");
      const step = this.panel && this.step !== null ? this.panel.steps[this.step] : null;
      const poll = this.state.poll;
      this.button("poll").hidden = !(step && step.predict) || Boolean(poll && poll.state === "open" && poll.step === this.step);
      this.button("reveal").hidden = !(poll && poll.state === "open");
    } else {
      text(this.field("mode"), this.free ? "free: you stay where you are" : "following the instructor");
      text(this.button("mode"), this.free ? "Follow again" : "Go free");
      this.button("mode").setAttribute("aria-pressed", String(!this.free));
      this.follow();
    }
    this.drawHighlight();
    this.drawPoll();
  }

  drawHighlight() {
    for (const old of document.querySelectorAll(".class-highlight")) old.classList.remove("class-highlight");
    const id = this.state.highlight;
    const target = id && !(this.data.role === "member" && this.free) ? document.getElementById(id) : null;
    if (target) {
      target.classList.add("class-highlight");
      if (this.data.role === "member") target.scrollIntoView({ block: "center", behavior: "smooth" });
    }
  }

  drawPoll() {
    const box = this.field("poll");
    const poll = this.state.poll;
    const key = poll ? `${poll.lesson}/${poll.step}/${poll.state}` : "";
    if (key === this.pollKey) return;
    this.pollKey = key;
    box.hidden = !poll;
    if (!poll) return box.replaceChildren();
    const parts = [el("p", { class: "class-question" }, poll.state === "open" ? `Predict: ${poll.question}` : `You were asked: ${poll.question}`)];
    if (poll.state === "open") parts.push(this.data.role === "member" ? this.choices(poll) : el("p", {}, "Waiting for the class's answers; run the step, then reveal."));
    else parts.push(this.revealed(poll));
    box.replaceChildren(...parts);
    if (poll.state === "revealed") this.chart(box.querySelector(".class-chart"), poll);
  }

  /** A phone turned, a window widened: the labels wrap anew for the chart's width. */
  redrawChart() {
    const node = this.field("poll").querySelector(".class-chart");
    if (node && this.state.poll && this.state.poll.state === "revealed") this.chart(node, this.state.poll);
  }

  choices(poll) {
    const list = el("div", { class: "class-choices", role: "group", "aria-label": "Your prediction" });
    const said = el("p", { class: "class-said", role: "status" });
    poll.choices.forEach((choice, i) => {
      const button = el("button", { type: "button", class: "class-choice", "aria-pressed": "false" }, choice);
      button.addEventListener("click", () => {
        this.send(protocol.classAnswerRequest(this.data.member, i));
        for (const other of list.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
        this.answered = { poll: `${poll.lesson}/${poll.step}`, choice: i };
        text(said, `You answered: ${choice}`);
      });
      list.append(button);
    });
    return el("div", {}, list, said);
  }

  revealed(poll) {
    const measured = el("div", { class: "class-measured" }, el("h3", {}, "What the lab measured"));
    const say = el("div", { class: "lesson-say" });
    say.innerHTML = poll.reveal_html || "<p>This step quotes no measurement.</p>"; // sanitised by nh3 on the server
    measured.append(say);
    const answers = el("div", { class: "class-answers" }, el("h3", {}, "What the class predicted"));
    const mine = this.answered && this.answered.poll === `${poll.lesson}/${poll.step}` ? poll.choices[this.answered.choice] : null;
    if (mine) answers.append(el("p", { class: "class-said" }, `You said: ${mine}`));
    const total = poll.counts.reduce((a, b) => a + b, 0);
    answers.append(
      el("div", { class: "class-chart", role: "img", "aria-label": poll.choices.map((c, i) => `${c}: ${poll.counts[i]}`).join("; ") }),
      el("p", { class: "class-total" }, `${total} answer${total === 1 ? "" : "s"}`),
    );
    return el("div", { class: "class-reveal" }, measured, answers);
  }

  async chart(node, poll) {
    await loadPlotly(this.data.plotly_url);
    const width = node.clientWidth < 500 ? 18 : 32; // characters a label's line may take
    const labels = poll.choices.map((choice) => wrapLabel(choice, width));
    const lines = Math.max(...labels.map((label) => label.split("<br>").length));
    const data = [{ type: "bar", x: poll.counts, y: labels, orientation: "h", marker: { color: "#1d4ed8" }, hoverinfo: "x" }];
    const layout = {
      height: 60 + (24 + 16 * lines) * poll.choices.length,
      margin: { l: 10, r: 10, t: 10, b: 30 },
      yaxis: { automargin: true, autorange: "reversed" },
      xaxis: { dtick: 1, rangemode: "tozero" },
      font: { size: 13 },
    };
    node.style.height = `${layout.height}px`; // a responsive plot takes its box's height
    window.Plotly.react(node, data, layout, { displayModeBar: false, responsive: true, staticPlot: true });
  }
}

let plotly = null;
function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve();
  plotly ||= new Promise((resolve, reject) => {
    const script = el("script", { src: url });
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => reject(new Error("Plotly did not load")));
    document.head.append(script);
  });
  return plotly;
}

const root = document.getElementById("class-bar");
new ClassBar(root, JSON.parse(document.getElementById("class-bar-data").textContent)).start();
