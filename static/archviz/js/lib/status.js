// The status bar's shared pieces (the connection indicator, the count of invalid trace events)
// and the corner toasts, for every page on the lab socket.

/** The "live / reconnecting in N s… / closed" indicator. */
export class ConnectionIndicator {
  constructor({ element }) {
    this.element = element;
    this.text = element.querySelector(".text");
    this.status = { state: "connecting" };
  }

  show(status) {
    this.status = status;
    this.render();
  }

  render() {
    const { state, retryAt, code, description } = this.status;
    const cause = description ? ` (${description}, code ${code})` : "";
    if (state === "live") {
      this.set("live", "live");
    } else if (state === "connecting") {
      this.set("reconnecting", "connecting…");
    } else if (state === "reconnecting") {
      const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      this.set("reconnecting", `reconnecting in ${seconds} s…${cause}`);
    } else {
      this.set("closed", `closed${cause}`);
    }
  }

  set(dataState, text) {
    this.element.setAttribute("data-state", dataState);
    if (this.text.textContent !== text) {
      this.text.textContent = text;
    }
  }
}

/**
 * How many trace events the dashboard process dropped as invalid (each state frame says): the
 * picture and the log never show them, so the page says how many there were.
 */
export class InvalidEventsCounter {
  constructor({ element }) {
    this.element = element;
    this.count = element.querySelector(".count");
  }

  show(invalidEvents) {
    const n = Number.isFinite(invalidEvents) ? invalidEvents : 0;
    if (this.count.textContent !== String(n)) {
      this.count.textContent = String(n);
    }
    this.element.classList.toggle("nonzero", n > 0);
  }
}

/** What a toast says of an ack: a command for a node is carried out by the supervisor;
 * one for the whole lab (traffic, a mode) names no node. */
export function ackText(frame) {
  return frame.node
    ? `${frame.action} accepted for ${frame.node}: watch the supervisor carry it out.`
    : `${frame.action} accepted.`;
}

/** Dismissable toasts in a corner; they float over the page, so nothing shifts. */
export class Notices {
  constructor({ container, timeoutMs = 12_000 }) {
    this.container = container;
    this.timeoutMs = timeoutMs;
  }

  show(text, tone = "info", timeoutMs = tone === "error" ? this.timeoutMs : this.timeoutMs / 2) {
    const toast = document.createElement("div");
    toast.className = `toast toast-${tone}`;
    toast.setAttribute("role", tone === "error" ? "alert" : "status");
    const message = document.createElement("p");
    message.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => toast.remove());
    toast.append(message, close);
    this.container.append(toast);
    while (this.container.children.length > 4) {
      this.container.firstElementChild.remove();
    }
    setTimeout(() => toast.remove(), timeoutMs);
  }
}
