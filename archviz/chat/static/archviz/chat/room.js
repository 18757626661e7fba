// The standalone chat page (another tab, or a phone): one room through the LB, nothing else.
import { ChatConnection, lbBaseUrl, overloadWords } from "./client.js";
import { MessageList, presenceWords } from "./views.js";
import { text } from "../js/lib/dom.js";
import { describeClose } from "../js/lib/protocol.js";
import { Notices } from "../js/lib/status.js";

const $ = (id) => document.getElementById(id);
const config = JSON.parse($("lab-config").textContent);
const notices = new Notices({ container: $("notices") });
const messages = new MessageList({ list: $("chat-messages") });
let client = null;

function where(words, state, node = "") {
  text($("my-node"), words);
  $("my-node").dataset.state = state;
  $("my-node").dataset.node = node;
}

function onFrame(frame) {
  if (frame.type === "welcome") {
    where(`you are on ${frame.node}`, "live", frame.node);
    text($("my-status"), `as ${frame.user}${frame.reconnectMs !== null ? ` · reconnected after ${(frame.reconnectMs / 1000).toFixed(2)} s` : ""}`);
  } else if (frame.type === "message") {
    messages.add(frame, { mine: frame.user === client.user });
  } else if (frame.type === "presence") {
    const me = { user: client.user, node: client.node };
    for (const p of frame.events) {
      const { words, kind } = presenceWords(p, { me });
      messages.note(`${p.user} on ${p.node}: ${words}`, `presence-${kind}`);
    }
  } else if (frame.type === "history_lost") {
    messages.note(frame.error, "error");
  } else if (frame.type === "overloaded" || frame.type === "shed") {
    messages.note(overloadWords(frame), "error");
  } else if (frame.type === "error") {
    notices.show(`chat: ${frame.error}`, "error");
  }
}

function onStatus(status) {
  if (status.state === "reconnecting") where("reconnecting…", "reconnecting");
  if (status.state === "closed") where(describeClose(status.code) || "disconnected", "closed");
}

async function connect(user) {
  const response = await fetch("/api/chat/state", { cache: "no-store" });
  const view = await response.json();
  if (!view.lb_port) {
    where("the load balancer is not running", "closed");
    setTimeout(() => connect(user), 2000);
    return;
  }
  if (client) client.stop();
  messages.clear();
  client = new ChatConnection({ lbBase: lbBaseUrl(view.lb_port), room: config.room, user, onFrame, onStatus }).start();
}

$("join-user").value = config.user || `phone-${Math.random().toString(36).slice(2, 6)}`;
$("name-form").addEventListener("submit", (e) => {
  e.preventDefault();
  connect($("join-user").value.trim());
});
$("send-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("chat-text");
  if (input.value.trim() && client && client.send(input.value)) input.value = "";
});
connect($("join-user").value);
