// lib/clock.js: the time of day every page writes, from unix ms or a Date alike.
import assert from "node:assert/strict";
import { test } from "node:test";
import { importServed } from "./served.mjs";

const { clock, clockMinutes } = await importServed("archviz/js/lib/clock.js");

test("clock writes 24-hour HH:MM:SS, the same from ms or a Date", () => {
  const at = new Date(2026, 11, 8, 15, 4, 5).getTime();
  assert.equal(clock(at), clock(new Date(at)));
  assert.match(clock(at), /^15.04.05$/);
  assert.match(clockMinutes(at), /^15.04$/);
});
