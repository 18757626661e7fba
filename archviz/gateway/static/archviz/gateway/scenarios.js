// The side-by-side table and the instructor scenarios. Lab-socket requests (bots, kill, the
// live limit, the comparison) are checked by the dashboard; the auth service's admin routes
// (rotate, revoke, expire every token) are called by the instructor's tab itself through
// the gateway, with an instructor token it asks for with its dashboard login.
import { clockMinutes } from "../js/lib/clock.js";
import { el, fieldsOf, text } from "../js/lib/dom.js";
import {
  gatewayBotsRequest,
  gatewayCompareRequest,
  gatewayKillRequest,
  gatewayLimitRequest,
} from "../js/lib/protocol.js";
import { countsCell, defaultReplica, denialWords, keysWords, reachedWords } from "./model.js";

const LEARNER_REASON = "Instructors only: log in as one (permission control_lab). The server checks this too.";

export class ComparePanel {
  constructor({ panel, table, conclusion, note, button }) {
    this.fields = fieldsOf(panel);
    this.table = table;
    this.body = table.querySelector("tbody");
    this.conclusion = conclusion;
    this.note = note;
    this.button = button;
    this.shownTs = 0;
  }

  update(gateway) {
    text(this.fields["via-gateway"], gateway.entry_port ? `:${gateway.entry_port}` : "not up");
    text(this.fields["via-lb"], gateway.services_port ? `:${gateway.services_port}` : "no services listener: a catalog replica directly");
    const classRun = gateway.compare;
    if (classRun && classRun.ts > this.shownTs) this.show(classRun, true);
  }

  running(forClass = false) {
    this.forClass = forClass;
    this.button.disabled = true;
    this.say("Sending… (about 8 s: one token is waited out until it has expired)");
  }

  show(result, forClass = false) {
    this.shownTs = result.ts;
    this.forClass = false;
    this.button.disabled = false;
    this.table.hidden = false;
    text(this.fields["around-head"], `around it: ${result.direct_target}`);
    this.body.replaceChildren(...result.rows.map((row) =>
      el("tr", { "data-case": row.case },
        el("th", { scope: "row" }, row.words),
        el("td", { class: "mono", "data-path": "gateway" }, countsCell(row.gateway)),
        el("td", { class: "mono", "data-path": "direct" }, countsCell(row.direct)))));
    text(this.fields["reached-gateway"], reachedWords(result.reached_gateway, result.by_token_gateway, result.counted));
    text(this.fields["reached-direct"], reachedWords(result.reached_direct, result.by_token_direct, result.counted));
    text(this.conclusion, result.conclusion);
    this.say(`${forClass ? `Run for the class by ${result.by}` : "Your run"} at ${clockMinutes(result.ts)}.`);
  }

  failed(reason) {
    this.forClass = false;
    this.button.disabled = false;
    this.say(`Refused: ${reason}`, "error");
  }

  say(message, tone = "info") {
    this.note.textContent = message;
    this.note.setAttribute("data-tone", tone);
  }
}

export class Scenarios {
  constructor({ panel, instructor, user, send, client, auction, message, onBypass = () => {} }) {
    this.onBypass = onBypass;
    this.panel = panel;
    this.instructor = instructor;
    this.user = (user || "instructor").replace(/[^A-Za-z0-9 _.-]/g, "-").slice(0, 40);
    this.send = send; // (lab-socket request) -> whether it was sent
    this.client = client;
    this.auction = auction;
    this.message = message;
    this.adminToken = null; // {value, expiresAt}
    this.$ = (id) => panel.querySelector(`#${id}`);
    for (const control of panel.querySelectorAll("[data-instructor]")) {
      control.disabled = !instructor;
      if (!instructor) control.title = LEARNER_REASON;
    }
    for (const button of panel.querySelectorAll("button[data-scenario]")) {
      button.addEventListener("click", () => this.run(button.getAttribute("data-scenario")));
    }
  }

  update(gateway) {
    this.fillChoices(this.$("kill-gateway"), gateway.replicas, this.auction.watch.replica);
    this.fillChoices(this.$("kill-bidding"), gateway.services.filter((s) => s.kind === "bidding"), "");
    text(this.$("keys-now"), `${keysWords(gateway.keys, clockMinutes)} · ${gateway.revoked} revoked`);
    const b = gateway.bots;
    text(this.$("bots-now"), b.up ? `${b.running} (asked ${b.asked}) · ${b.connected} watching · ${b.accepted} of ${b.bids} bids accepted` : `none (asked ${b.asked})`);
    const jti = this.auction.token?.jti || "";
    const input = this.$("revoke-jti");
    if (jti && input.getAttribute("data-mine") !== jti && document.activeElement !== input) {
      input.value = jti;
      input.setAttribute("data-mine", jti);
    }
  }

  /** The replicas to choose from; until the instructor picks one, the one their own socket is on. */
  fillChoices(select, items, preferred) {
    const words = items.map((i) => `${i.id} (${i.id === preferred ? "your socket is here" : i.status})`);
    if (select.getAttribute("data-words") !== words.join(",")) {
      select.setAttribute("data-words", words.join(","));
      const keep = select.value;
      select.replaceChildren(...items.map((i, n) => new Option(words[n], i.id)));
      select.value = keep;
    }
    if (!select.hasAttribute("data-picked") || !select.value) {
      select.value = defaultReplica(items.map((i) => ({ websockets: 0, ...i })), preferred);
    }
    if (!select.onchange) select.onchange = () => select.setAttribute("data-picked", "1");
  }

  run(scenario) {
    const s = {
      "kill-gateway": () => this.socket(gatewayKillRequest(this.$("kill-gateway").value), `SIGKILL sent to ${this.$("kill-gateway").value}: watch its clients move to the other replica.`),
      "kill-bidding": () => this.socket(gatewayKillRequest(this.$("kill-bidding").value), `SIGKILL sent to ${this.$("kill-bidding").value}: bids now go to the other replica.`),
      limit: () => this.socket(gatewayLimitRequest("bid", { rate: Number(this.$("limit-rate").value), burst: Number(this.$("limit-burst").value) }), "Bid limit sent to every gateway replica: bid twice quickly to meet it."),
      "limit-reset": () => this.socket(gatewayLimitRequest("bid", { reset: true }), "Bid limit back to its default."),
      bots: () => this.socket(gatewayBotsRequest(Number(this.$("bots-count").value)), "Bots set."),
      bypass: () => {
        this.socket(gatewayCompareRequest(true), "Running the side by side for the class: see its table above.");
        this.onBypass();
      },
      revoke: () => this.admin("/auth/tokens/revoke", { jti: this.$("revoke-jti").value.trim() }, "Revoked: both replicas refuse it within a second."),
      "expire-all": () => this.admin("/auth/tokens/expire-all", {}, "Every token issued so far is expired; open sockets are closed."),
      rotate: () => this.admin("/auth/keys/rotate", { grace_s: Number(this.$("rotate-grace").value) }, "Rotated: new tokens carry the new kid."),
    }[scenario];
    if (s) s();
  }

  socket(request, words) {
    this.words = words;
    if (this.send(request)) this.say(`${words} (sent…)`);
    else this.say("Not connected to the lab right now; try again when the indicator says live.", "error");
  }

  /** An instructor token for the auth service's admin routes, asked for with the dashboard login. */
  async instructorToken() {
    if (this.adminToken && this.adminToken.expiresAt - Date.now() > 5_000) return this.adminToken.value;
    const answer = await this.client.send("POST", "/auth/token", { body: { name: this.user, role: "instructor", ttl_s: 300 }, credentials: "include" });
    if (answer.error || answer.status !== 200) throw answer;
    this.adminToken = { value: answer.body.token, expiresAt: Date.now() + answer.body.expires_in * 1000 };
    return this.adminToken.value;
  }

  async admin(path, body, words) {
    this.say("Asking the auth service, through the gateway…");
    try {
      const token = await this.instructorToken();
      const answer = await this.client.send("POST", path, { body, token });
      if (answer.error || answer.status >= 300) throw answer;
      if (path.endsWith("expire-all")) this.adminToken = null; // it expired too
      this.say(words, "ok");
    } catch (answer) {
      if (answer instanceof Error) throw answer;
      const why = answer.error || (({ title, detail }) => `${title}. ${detail}`)(denialWords(answer.status, answer.body, answer.headers));
      this.say(`Refused: ${why}`, "error");
    }
  }

  /** The server carried a request out: the scenario's words stay, now confirmed. */
  accepted(frame) {
    const what = `${frame.action}${frame.node ? ` ${frame.node}` : ""}`;
    this.say(this.words ? `${this.words} (${what}: accepted)` : `${what}: accepted.`, "ok");
  }

  say(message, tone = "info") {
    this.message.textContent = message;
    this.message.setAttribute("data-tone", tone);
  }
}
