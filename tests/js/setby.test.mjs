// setby.js: what a page says of shared state another page or a lesson set.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ago, pageName, renderSetBy, setByNotice, setByNotices } from "../../static/archviz/js/lib/setby.js";

const NOW = 1_700_000_000_000;
const fromQueue = { traffic: { by: "ingrid", page: "/queue/", ts: NOW - 120_000 } };

describe("setByNotice", () => {
  test("names what, when, who and the page it was set on", () => {
    assert.equal(
      setByNotice(fromQueue, "traffic", "/lb/", NOW),
      "Traffic set 2 min ago by ingrid on the Queue page",
    );
  });

  test("says nothing on the page it was set on", () => {
    assert.equal(setByNotice(fromQueue, "traffic", "/queue/", NOW), null);
  });

  test("every chat room is the chat page", () => {
    const setBy = { "chat.mode": { by: "ada", page: "/chat/", ts: NOW } };
    assert.equal(setByNotice(setBy, "chat.mode", "/chat/room/lobby/", NOW), null);
  });

  test("says nothing of what was never set, or of a state without set_by", () => {
    assert.equal(setByNotice(fromQueue, "nodes", "/lb/", NOW), null);
    assert.equal(setByNotice(undefined, "traffic", "/lb/", NOW), null);
    assert.equal(setByNotice({ traffic: "junk" }, "traffic", "/lb/", NOW), null);
  });

  test("a lesson's change names the lesson", () => {
    const setBy = { nodes: { by: "ingrid", page: "lesson: lb-scale", ts: NOW - 5_000 } };
    assert.equal(
      setByNotice(setBy, "nodes", "/lb/", NOW),
      "Node settings set just now by ingrid in the lesson “lb-scale”",
    );
  });

  test("a lesson's chat bots and gateway scenario are named on their pages", () => {
    const lesson = "lesson: A chat client on A misses a message sent on B";
    const setBy = {
      "chat.bots": { by: "ingrid", page: lesson, ts: NOW },
      gateway: { by: "ingrid", page: "lesson: API gateway versus load balancer", ts: NOW },
    };
    assert.equal(
      setByNotice(setBy, "chat.bots", "/chat/", NOW),
      "The chat bots set just now by ingrid in the lesson “A chat client on A misses a message sent on B”",
    );
    assert.equal(
      setByNotice(setBy, "gateway", "/gateway/", NOW),
      "The gateway scenario set just now by ingrid in the lesson “API gateway versus load balancer”",
    );
  });

  test("an unknown page is said as its path, a missing one not at all", () => {
    const odd = { traffic: { by: "bo", page: "/elsewhere/", ts: NOW } };
    assert.equal(setByNotice(odd, "traffic", "/lb/", NOW), "Traffic set just now by bo on the page /elsewhere/");
    const blank = { traffic: { by: "bo", page: "", ts: NOW } };
    assert.equal(setByNotice(blank, "traffic", "/lb/", NOW), "Traffic set just now by bo");
  });
});

describe("ago", () => {
  test("seconds, minutes, hours and days", () => {
    assert.equal(ago(NOW, NOW), "just now");
    assert.equal(ago(NOW - 42_000, NOW), "42 s ago");
    assert.equal(ago(NOW - 59 * 60_000, NOW), "59 min ago");
    assert.equal(ago(NOW - 3 * 3_600_000, NOW), "3 h ago");
    assert.equal(ago(NOW - 86_400_000, NOW), "1 day ago");
    assert.equal(ago(NOW + 5_000, NOW), "just now"); // a clock ahead is not "in the future"
  });
});

describe("pageName", () => {
  test("the pages by their paths", () => {
    assert.equal(pageName("/lb/"), "the LB page");
    assert.equal(pageName("/sessions/"), "the Sessions page");
    assert.equal(pageName(""), null);
  });
});

describe("setByNotices", () => {
  test("what one person set in one place is one sentence", () => {
    const lesson = { by: "ingrid", page: "lesson: Sessions", ts: NOW };
    const setBy = { "session.mode": lesson, "lb.algorithm": lesson, nodes: { ...lesson, by: "bo" } };
    assert.deepEqual(setByNotices(setBy, ["session.mode", "lb.algorithm", "nodes"], "/sessions/", NOW), [
      "The session mode and the algorithm set just now by ingrid in the lesson “Sessions”",
      "Node settings set just now by bo in the lesson “Sessions”",
    ]);
  });
});

describe("renderSetBy", () => {
  test("fills each notice with what of its shared state was set elsewhere, else hides it", () => {
    const both = { dataset: { setBy: "traffic nodes" } };
    const algorithm = { dataset: { setBy: "lb.algorithm" } };
    const root = { querySelectorAll: () => [both, algorithm] };
    renderSetBy(root, { ts: NOW, set_by: fromQueue }, "/lb/");
    assert.equal(both.hidden, false);
    assert.equal(both.textContent, "Traffic set 2 min ago by ingrid on the Queue page");
    assert.equal(algorithm.hidden, true);
    renderSetBy(root, { ts: NOW, set_by: {} }, "/lb/");
    assert.equal(both.hidden, true);
    assert.equal(both.textContent, "");
  });
});
