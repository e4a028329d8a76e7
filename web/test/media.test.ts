import { test } from "node:test";
import assert from "node:assert/strict";
import { classify, nextCamera } from "../src/media";
import { qualityLevel } from "../src/call/simulator";

test("getUserMedia errors become problems a person can act on", () => {
  const cases: [string, string][] = [
    ["NotAllowedError", "denied"], ["SecurityError", "denied"], ["NotFoundError", "no_device"],
    ["OverconstrainedError", "no_device"], ["NotReadableError", "in_use"], ["AbortError", "in_use"], ["TypeError", "other"],
  ];
  for (const [name, want] of cases) assert.equal(classify({ name }), want, name);
  assert.equal(classify(null), "other");
});

test("switch camera cycles through the cameras", () => {
  const cams = [{ deviceId: "a" }, { deviceId: "b" }, { deviceId: "c" }] as MediaDeviceInfo[];
  assert.equal(nextCamera(cams, "a")?.deviceId, "b");
  assert.equal(nextCamera(cams, "c")?.deviceId, "a");
  assert.equal(nextCamera(cams, undefined)?.deviceId, "a");
  assert.equal(nextCamera(cams.slice(0, 1), "a"), undefined, "one camera: nothing to switch to");
});

test("network quality from round-trip time and loss", () => {
  assert.equal(qualityLevel(-1, 0), 0);
  assert.equal(qualityLevel(0.02, 0), 5);
  assert.equal(qualityLevel(0.2, 0), 4);
  assert.equal(qualityLevel(0.02, 0.03), 3);
  assert.equal(qualityLevel(0.6, 0), 2);
  assert.equal(qualityLevel(0.02, 0.2), 1);
});
