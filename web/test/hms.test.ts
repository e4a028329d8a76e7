// The 100ms provider against a fake of the SDK's actions, store and
// notifications. The store is the SDK's own state shape
// (createDefaultStoreState) read through the SDK's real selectors, so the
// provider is checked against what the pinned SDK really publishes.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createDefaultStoreState,
  HMSNotificationTypes,
  type HMSActions,
  type HMSNotifications,
  type HMSPeer,
  type HMSStore,
  type HMSStoreWrapper,
} from "@100mslive/hms-video-store";
import { autoplayErrorCode, HMSCall } from "../src/call/hms";
import type { CallState, EndReason } from "../src/call/types";
import type { JoinToken } from "../src/api";

type Selector = (s: HMSStore) => unknown;

class FakeStore {
  state: HMSStore = createDefaultStoreState();
  private subs: { cb: (v: never) => void; sel: Selector; last: unknown }[] = [];
  subscribe = (cb: (v: never) => void, sel: Selector) => {
    const sub = { cb, sel, last: sel(this.state) };
    this.subs.push(sub);
    return () => {
      this.subs = this.subs.filter((s) => s !== sub);
    };
  };
  getState = (sel: Selector) => sel(this.state);
  // change applies a mutation and calls the subscribers whose selection changed.
  change(fn: (s: HMSStore) => void): void {
    const next = structuredClone(this.state);
    fn(next);
    this.state = next;
    for (const s of this.subs) {
      const v = s.sel(this.state);
      if (JSON.stringify(v) !== JSON.stringify(s.last)) {
        s.last = v;
        s.cb(v as never);
      }
    }
  }
  get subscribers() {
    return this.subs.length;
  }
}

class FakeActions {
  calls: string[] = [];
  joined: Record<string, unknown> | null = null;
  constructor(private store: FakeStore) {}
  join = async (cfg: Record<string, unknown>) => {
    this.joined = cfg;
    this.calls.push("join");
    this.store.change((s) => {
      s.room.isConnected = true;
      s.room.localPeer = "local-1";
      s.room.peers = ["local-1"];
      s.peers["local-1"] = peer("local-1", "Agent", true, "track-local");
    });
  };
  attachVideo = async (track: string, el: { id: string }) => void this.calls.push("attach " + track + " " + el.id);
  detachVideo = async (track: string, el: { id: string }) => void this.calls.push("detach " + track + " " + el.id);
  setVideoSettings = async (s: { deviceId: string }) => void this.calls.push("camera " + s.deviceId);
  unblockAudio = async () => void this.calls.push("unblock");
  leave = async () => void this.calls.push("leave");
}

class FakeNotifications {
  private cbs: ((n: unknown) => void)[] = [];
  onNotification = (cb: (n: unknown) => void) => {
    this.cbs.push(cb);
    return () => {
      this.cbs = this.cbs.filter((c) => c !== cb);
    };
  };
  emit(n: unknown): void {
    for (const cb of this.cbs) cb(n);
  }
}

function peer(id: string, name: string, isLocal: boolean, videoTrack?: string): HMSPeer {
  return { id, name, isLocal, roleName: isLocal ? "agent" : "customer", videoTrack, auxiliaryTracks: [], groups: [], isHandRaised: false } as unknown as HMSPeer;
}

function setup() {
  const store = new FakeStore();
  const actions = new FakeActions(store);
  const notifications = new FakeNotifications();
  const states: string[] = [];
  const remote: boolean[] = [];
  const quality: number[] = [];
  let autoplay = 0;
  let stopped = 0;
  const call = new HMSCall(() => ({
    actions: actions as unknown as HMSActions,
    store: store as unknown as HMSStoreWrapper,
    notifications: notifications as unknown as HMSNotifications,
  }));
  const track = (kind: string, deviceId: string) => ({ kind, getSettings: () => ({ deviceId }), stop: () => void stopped++ });
  const local = {
    getVideoTracks: () => [track("video", "cam-2")],
    getAudioTracks: () => [track("audio", "mic-1")],
    getTracks: () => [track("video", "cam-2"), track("audio", "mic-1")],
  } as unknown as MediaStream;
  const els = { local: { id: "local" } as HTMLVideoElement, remote: { id: "remote" } as HTMLVideoElement };
  const jt: JoinToken = { room_id: "r", role: "agent", token: "tok", expires_at: "", provider: "100ms" };
  const listener = {
    state: (s: CallState, r?: EndReason) => void states.push(r ? s + ":" + r : s),
    remote: (p: boolean) => void remote.push(p),
    quality: (q: number) => void quality.push(q),
    autoplayBlocked: () => void autoplay++,
  };
  return { store, actions, notifications, call, local, els, jt, listener, states, remote, quality, get autoplay() { return autoplay; }, get stopped() { return stopped; } };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

test("join uses the token and the preview's devices, and attaches both videos", async () => {
  const f = setup();
  await f.call.join(f.jt, "agent-7", f.local, f.els, f.listener);
  await tick();
  assert.equal(f.actions.joined?.authToken, "tok");
  assert.equal(f.actions.joined?.userName, "agent-7");
  assert.deepEqual((f.actions.joined?.settings as Record<string, unknown>).videoDeviceId, "cam-2");
  assert.equal(f.stopped, 2, "the preview's tracks are released for the SDK");
  assert.deepEqual(f.states, ["connecting", "connected"]);
  assert.ok(f.actions.calls.includes("attach track-local local"));

  f.store.change((s) => {
    s.room.peers.push("remote-1");
    s.peers["remote-1"] = peer("remote-1", "Customer", false, "track-remote");
  });
  await tick();
  assert.ok(f.actions.calls.includes("attach track-remote remote"));
  assert.deepEqual(f.remote, [true]);

  f.store.change((s) => {
    s.connectionQualities["local-1"] = { peerID: "local-1", downlinkQuality: 4 };
  });
  assert.deepEqual(f.quality, [4]);

  // The customer leaves: the video is detached.
  f.store.change((s) => {
    s.room.peers = ["local-1"];
    delete s.peers["remote-1"];
  });
  await tick();
  assert.ok(f.actions.calls.includes("detach track-remote remote"));
  assert.deepEqual(f.remote, [true, false]);
});

test("reconnection, autoplay errors and removal become call states", async () => {
  const f = setup();
  await f.call.join(f.jt, "agent-7", f.local, f.els, f.listener);
  f.notifications.emit({ id: 1, type: HMSNotificationTypes.RECONNECTING, message: "", data: {} });
  f.notifications.emit({ id: 2, type: HMSNotificationTypes.RECONNECTED, message: "", data: {} });
  f.notifications.emit({ id: 3, type: HMSNotificationTypes.ERROR, message: "", data: { code: autoplayErrorCode, isTerminal: false, message: "autoplay" } });
  assert.equal(f.autoplay, 1);
  f.notifications.emit({ id: 4, type: HMSNotificationTypes.ERROR, message: "", data: { code: 4005, isTerminal: false, message: "ice" } });
  assert.deepEqual(f.states, ["connecting", "connected", "reconnecting", "connected"], "a non-terminal error does not end the call");
  f.notifications.emit({ id: 5, type: HMSNotificationTypes.ROOM_ENDED, message: "room ended", data: {} });
  assert.deepEqual(f.states.at(-1), "ended:removed");
  assert.equal(f.store.subscribers, 0, "ending unsubscribes from the store");
});

test("a terminal error ends the call as dropped", async () => {
  const f = setup();
  await f.call.join(f.jt, "agent-7", f.local, f.els, f.listener);
  f.notifications.emit({ id: 1, type: HMSNotificationTypes.ERROR, message: "", data: { code: 1003, isTerminal: true, message: "websocket closed" } });
  assert.equal(f.states.at(-1), "ended:dropped");
});

test("switch camera, unblock audio and leave call the SDK", async () => {
  const f = setup();
  await f.call.join(f.jt, "agent-7", f.local, f.els, f.listener);
  await f.call.switchCamera("cam-9");
  await f.call.unblockAudio();
  await f.call.leave();
  await f.call.leave(); // twice is once
  assert.deepEqual(f.actions.calls.filter((c) => !c.startsWith("attach")), ["join", "camera cam-9", "unblock", "leave"]);
  assert.equal(f.states.at(-1), "ended:left");
});
