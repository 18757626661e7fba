// status.js: what the status bar says, on stand-in elements (no DOM needed).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ConnectionIndicator, InvalidEventsCounter, ackText } from "../../static/archviz/js/lib/status.js";

/** Just enough of an element: text, attributes and classes, and one child found by selector. */
function fakeElement() {
  const child = { textContent: "" };
  const classes = new Set();
  const attributes = {};
  return {
    child,
    attributes,
    classes,
    querySelector: () => child,
    setAttribute: (name, value) => {
      attributes[name] = value;
    },
    classList: { toggle: (name, on) => (on ? classes.add(name) : classes.delete(name)) },
  };
}

describe("InvalidEventsCounter", () => {
  test("shows the count from the state frame and marks a nonzero one", () => {
    const element = fakeElement();
    const counter = new InvalidEventsCounter({ element });
    counter.show(0);
    assert.equal(element.child.textContent, "0");
    assert.equal(element.classes.has("nonzero"), false);
    counter.show(3);
    assert.equal(element.child.textContent, "3");
    assert.equal(element.classes.has("nonzero"), true);
  });

  test("a frame from an older dashboard without the field reads as none", () => {
    const element = fakeElement();
    new InvalidEventsCounter({ element }).show(undefined);
    assert.equal(element.child.textContent, "0");
    assert.equal(element.classes.has("nonzero"), false);
  });
});

describe("ConnectionIndicator", () => {
  test("says live, or when it will retry and why", () => {
    const element = fakeElement();
    const indicator = new ConnectionIndicator({ element });
    indicator.show({ state: "live" });
    assert.equal(element.attributes["data-state"], "live");
    assert.equal(element.child.textContent, "live");
    indicator.show({ state: "reconnecting", retryAt: Date.now() + 2500, code: 4013, description: "server overloaded" });
    assert.equal(element.attributes["data-state"], "reconnecting");
    assert.equal(element.child.textContent, "reconnecting in 3 s… (server overloaded, code 4013)");
  });

  test("a final close says so, with its cause", () => {
    const element = fakeElement();
    new ConnectionIndicator({ element }).show({ state: "closed", code: 4001, description: "login required" });
    assert.equal(element.attributes["data-state"], "closed");
    assert.equal(element.child.textContent, "closed (login required, code 4001)");
  });
});

describe("ackText", () => {
  test("names the node a command was for", () => {
    assert.equal(ackText({ action: "kill", node: "node-2" }),
      "kill accepted for node-2: watch the supervisor carry it out.");
  });
  test("a command for the whole lab names no node (it said 'for undefined')", () => {
    assert.equal(ackText({ action: "traffic" }), "traffic accepted.");
  });
});
