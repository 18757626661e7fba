// The lesson panel on a demo page: narration, the step's actions run on the real lab,
// its wait on live figures, the prediction, the reveal from the measured numbers, then
// "try it yourself" and the next lesson.
import { clock } from "/static/archviz/js/lib/clock.js";
import { el, text } from "/static/archviz/js/lib/dom.js";
import { resumeAt, shown, waitWords } from "./waiting.js";

const POLL_MS = 700;

class LessonPanel {
  constructor(root, data) {
    this.root = root;
    this.data = data;
    this.body = root.querySelector(".lesson-body");
    this.dots = root.querySelector(".lesson-dots");
    this.csrf = root.dataset.csrf;
    this.index = resumeAt(data.progress, data.steps.length);
    this.met = new Set(data.progress.met);
    this.answers = { ...data.progress.answers };
    this.timer = null;
  }

  url(path) {
    return `${this.data.urls.base}${path}`;
  }

  async post(path, body = {}) {
    const response = await fetch(this.url(path), {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    return answer;
  }

  drawDots() {
    const total = this.data.steps.length;
    this.dots.replaceChildren(
      ...this.data.steps.map((step, i) => {
        const state = this.met.has(i) ? "met" : i === this.index ? "current" : "todo";
        return el("li", { class: `lesson-dot ${state}`, title: `step ${i + 1}: ${step.title}` });
      }),
      el("li", { class: `lesson-dot ${this.index >= total ? "current" : "todo"}`, title: "try it yourself" }),
    );
  }

  show(index) {
    clearTimeout(this.timer);
    this.index = index;
    this.drawDots();
    // a class bar (archviz/classroom) publishes the instructor's step, and follows it
    document.dispatchEvent(new CustomEvent("archviz:lesson-step", { detail: { lesson: this.data.slug, step: index } }));
    if (index >= this.data.steps.length) return this.showTryIt();
    const step = this.data.steps[index];
    const narration = el("div", { class: "lesson-say" });
    narration.innerHTML = step.say_html; // rendered from Markdown and sanitised by nh3 on the server
    const run = el("button", { type: "button", class: "primary lesson-run" },
      step.acts ? (index === 0 ? "Set up the lab and run this step" : "Run this step") : "Watch for it");
    const status = el("p", { class: "lesson-status", role: "status" });
    const figures = el("dl", { class: "lesson-figures" });
    const reveal = el("div", { class: "lesson-reveal", hidden: "" });
    const next = el("button", { type: "button", class: "lesson-next", hidden: "" },
      index + 1 < this.data.steps.length ? "Next step →" : "Try it yourself →");
    next.addEventListener("click", () => this.show(index + 1));
    const parts = [el("h3", { class: "lesson-step-title" }, `Step ${index + 1} of ${this.data.steps.length}: ${step.title}`), narration];
    if (step.predict) parts.push(this.predictForm(step, index));
    if (!this.data.instructor) {
      parts.push(el("p", { class: "lesson-refused" },
        "Only an instructor can run a lesson's steps: open the sign-in link that “make run” printed, or log in."));
      run.disabled = true;
    }
    parts.push(run);
    // what the step asks, and what the lab did: side by side on a wide screen, so that the
    // panel leaves the picture it speaks of on the first screen
    const ask = el("div", { class: "lesson-ask" }, ...parts);
    const seen = el("div", { class: "lesson-seen" }, status, figures, reveal, next);
    this.body.replaceChildren(el("div", { class: "lesson-step" }, ask, seen));
    if (this.root.getBoundingClientRect().top < 0) this.root.scrollIntoView({ block: "start" });
    run.addEventListener("click", () => this.run(index, { run, status, figures, reveal, next }));
  }

  predictForm(step, index) {
    const form = el("fieldset", { class: "lesson-predict" }, el("legend", {}, `Predict first: ${step.predict.question}`));
    step.predict.choices.forEach((choice, i) => {
      const input = el("input", { type: "radio", name: `predict-${index}`, value: String(i) });
      if (this.answers[index] === i) input.checked = true;
      input.addEventListener("change", () => {
        this.answers[index] = i;
        this.post(`steps/${index}/predict`, { choice: i }).catch(() => {});
      });
      form.append(el("label", { class: "lesson-choice" }, input, ` ${choice}`));
    });
    return form;
  }

  async run(index, view) {
    const step = this.data.steps[index];
    view.run.disabled = true;
    text(view.status, step.acts ? "running the step's actions on the lab…" : "watching…");
    try {
      await this.post(`steps/${index}/start`);
    } catch (error) {
      text(view.status, `could not run the step: ${error.message}`);
      view.run.disabled = false;
      return;
    }
    this.poll(index, view);
  }

  async poll(index, view) {
    const step = this.data.steps[index];
    let answer;
    try {
      const response = await fetch(this.url(`steps/${index}/watch`), { credentials: "same-origin" });
      answer = await response.json();
      if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    } catch (error) {
      text(view.status, `no live figures: ${error.message}; trying again`);
      this.timer = setTimeout(() => this.poll(index, view), POLL_MS * 3);
      return;
    }
    view.figures.replaceChildren(
      ...Object.entries(answer.figures).flatMap(([name, value]) => [
        el("dt", { title: name }, this.data.figure_words[name] || name),
        el("dd", { class: "mono" }, shown(value)),
      ]),
    );
    text(view.status, waitWords(step, answer));
    if (answer.met) return this.reveal(index, step, answer, view);
    if (answer.timed_out) {
      view.run.disabled = false;
      text(view.run, "Run this step again");
      return;
    }
    this.timer = setTimeout(() => this.poll(index, view), POLL_MS);
  }

  reveal(index, step, answer, view) {
    this.met.add(index);
    this.drawDots();
    view.run.hidden = true;
    // the reveal quotes the figures of this moment, and the page's own go on moving
    text(view.status, `${waitWords(step, answer)} Figures as at ${clock(Date.now())}; the page's own keep moving.`);
    if (step.has_reveal) {
      view.reveal.innerHTML = answer.reveal_html; // sanitised on the server
      if (step.predict && index in this.answers) {
        view.reveal.prepend(el("p", { class: "lesson-you-said" }, `You predicted: ${step.predict.choices[this.answers[index]]}`));
      }
      view.reveal.hidden = false;
    }
    view.next.hidden = false;
    view.next.focus();
  }

  showTryIt() {
    const say = el("div", { class: "lesson-say" });
    say.innerHTML = this.data.try_it.say_html; // sanitised on the server
    const status = el("p", { class: "lesson-status", role: "status" });
    const buttons = this.data.try_it.buttons.map((label, i) => {
      const button = el("button", { type: "button", class: "lesson-try" }, label);
      if (!this.data.instructor) button.disabled = true;
      button.addEventListener("click", async () => {
        try {
          await this.post(`try/${i}`);
          text(status, `done: ${label}`);
        } catch (error) {
          text(status, `could not: ${error.message}`);
        }
      });
      return button;
    });
    const parts = [el("h3", { class: "lesson-step-title" }, "Try it yourself"), say, el("div", { class: "lesson-buttons" }, ...buttons), status];
    const next = this.data.next;
    parts.push(next
      ? el("p", { class: "lesson-onward" }, "Next lesson: ", el("a", { href: next.url }, `${next.title} →`))
      : el("p", { class: "lesson-onward" }, "That was the last lesson. ", el("a", { href: this.data.urls.course }, "Back to the course")));
    this.body.replaceChildren(...parts);
  }
}

const root = document.getElementById("lesson-panel");
const data = JSON.parse(document.getElementById("lesson-panel-data").textContent);
const panel = new LessonPanel(root, data);
// the class bar's "go to this step" (its presenter keys, or the instructor a learner follows)
document.addEventListener("archviz:lesson-goto", (event) => {
  const step = event.detail && event.detail.step;
  if (Number.isInteger(step) && step >= 0 && step <= data.steps.length && step !== panel.index) panel.show(step);
});
panel.show(resumeAt(data.progress, data.steps.length));
