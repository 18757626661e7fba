// The connection-status indicator and the corner toasts, shared by the lab and LB pages.

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
