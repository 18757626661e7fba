// The class bar's pure rules (archviz/classroom/static/archviz/classroom/follow.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  destination,
  elsewhere,
  followable,
  movedStep,
  presenterAction,
  rosterWords,
  wrapLabel,
} from "../../archviz/classroom/static/archviz/classroom/follow.js";

test("the destination is the page with its lesson", () => {
  assert.equal(destination({ path: "/lb/", lesson: "load-balancer", step: 1 }), "/lb/?lesson=load-balancer");
  assert.equal(destination({ path: "/queue/", lesson: null, step: null }), "/queue/");
});

test("a tab is elsewhere on another page or another lesson, not at another step", () => {
  const where = { path: "/lb/", lesson: "load-balancer", step: 2 };
  assert.equal(elsewhere(where, "/lb/", "?lesson=load-balancer"), false);
  assert.equal(elsewhere(where, "/lb/", ""), true);
  assert.equal(elsewhere(where, "/chat/", "?lesson=load-balancer"), true);
  assert.equal(elsewhere({ path: "/lab/", lesson: null }, "/lab/", ""), false);
  assert.equal(elsewhere(null, "/lab/", ""), false);
});

test("the class is never sent to its own pages or to logging in", () => {
  assert.equal(followable("/lb/"), true);
  for (const path of ["/class/", "/class/join/", "/accounts/login/", "/admin/"]) assert.equal(followable(path), false);
});

test("presenter keys: pages and arrows step, '.' and P pause, never while typing", () => {
  assert.equal(presenterAction("PageDown"), "next");
  assert.equal(presenterAction("ArrowLeft"), "previous");
  assert.equal(presenterAction("."), "pause");
  assert.equal(presenterAction("p"), "pause");
  assert.equal(presenterAction("ArrowRight", { inField: true }), null);
  assert.equal(presenterAction("ArrowRight", { modified: true }), null);
  assert.equal(presenterAction("x"), null);
});

test("a move stays within the steps and 'try it yourself'", () => {
  assert.equal(movedStep(0, -1, 5), 0);
  assert.equal(movedStep(4, 1, 5), 5);
  assert.equal(movedStep(5, 1, 5), 5);
});

test("the roster in words", () => {
  assert.equal(rosterWords([]), "no one has joined yet");
  const roster = [{ state: "following" }, { state: "following" }, { state: "dropped" }];
  assert.equal(rosterWords(roster), "2 following · 0 free · 1 dropped");
});

test("a chart label wraps at whole words", () => {
  assert.equal(wrapLabel("It waits longer, but every request is answered", 18), "It waits longer,<br>but every request<br>is answered");
  assert.equal(wrapLabel("None", 18), "None");
  assert.equal(wrapLabel("Averyveryverylongword here", 5), "Averyveryverylongword<br>here");
});
