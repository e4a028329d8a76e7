// The 100ms provider: the official web SDK (@100mslive/hms-video-store,
// pinned by package-lock.json). The SDK opens its own camera and microphone
// with the devices the preview chose; the page attaches the tracks the
// store announces, and the SDK's notifications become the call's states.
// The SDK parts are injectable so that tests drive the provider with a fake
// of its actions, store and notifications.

import {
  HMSNotificationTypes,
  HMSReactiveStore,
  selectConnectionQualityByPeerID,
  selectIsConnectedToRoom,
  selectLocalPeer,
  selectRemotePeers,
  type HMSActions,
  type HMSNotifications,
  type HMSPeer,
  type HMSStoreWrapper,
} from "@100mslive/hms-video-store";
import type { JoinToken } from "../api";
import type { CallElements, CallListener, CallProvider } from "./types";

// What the SDK hands a notification callback.
type Notification = Parameters<Parameters<HMSNotifications["onNotification"]>[0]>[0];

export interface HMSParts {
  actions: HMSActions;
  store: HMSStoreWrapper;
  notifications: HMSNotifications;
}

export function realSDK(): HMSParts {
  const hms = new HMSReactiveStore();
  hms.triggerOnSubscribe();
  return { actions: hms.getActions(), store: hms.getStore(), notifications: hms.getNotifications() };
}

// The SDK's error code for media that the browser would not autoplay.
export const autoplayErrorCode = 3008;

export class HMSCall implements CallProvider {
  private parts: HMSParts | null = null;
  private unsubscribe: (() => void)[] = [];
  private els: CallElements | null = null;
  private l: CallListener | null = null;
  private remoteTrack = "";
  private localTrack = "";
  private leaving = false;
  private ended = false;

  constructor(private readonly sdk: () => HMSParts = realSDK) {}

  async join(jt: JoinToken, name: string, local: MediaStream, els: CallElements, l: CallListener): Promise<void> {
    const parts = this.sdk();
    this.parts = parts;
    this.els = els;
    this.l = l;
    const videoDeviceId = local.getVideoTracks()[0]?.getSettings().deviceId;
    const audioInputDeviceId = local.getAudioTracks()[0]?.getSettings().deviceId;
    // The SDK opens the devices itself: release the preview's.
    for (const t of local.getTracks()) t.stop();
    l.state("connecting");
    this.unsubscribe.push(
      parts.notifications.onNotification((n) => this.onNotification(n)),
      parts.store.subscribe((peers: HMSPeer[]) => void this.onRemotePeers(peers), selectRemotePeers),
      parts.store.subscribe((peer: HMSPeer | undefined) => void this.onLocalPeer(peer), selectLocalPeer),
    );
    await parts.actions.join({
      userName: name, authToken: jt.token, rememberDeviceSelection: false,
      settings: { isAudioMuted: false, isVideoMuted: false, videoDeviceId, audioInputDeviceId },
    });
    if (parts.store.getState(selectIsConnectedToRoom)) l.state("connected");
    const me = parts.store.getState(selectLocalPeer);
    if (me) {
      this.unsubscribe.push(parts.store.subscribe((q) => {
        if (q?.downlinkQuality !== undefined && q.downlinkQuality >= 0) l.quality(q.downlinkQuality);
      }, selectConnectionQualityByPeerID(me.id)));
    }
  }

  private async onLocalPeer(peer: HMSPeer | undefined): Promise<void> {
    const track = peer?.videoTrack ?? "";
    if (!this.parts || !this.els || track === this.localTrack) return;
    this.localTrack = track;
    if (track) await this.parts.actions.attachVideo(track, this.els.local);
  }

  private async onRemotePeers(peers: HMSPeer[]): Promise<void> {
    if (!this.parts || !this.els) return;
    const track = peers.find((p) => p.videoTrack)?.videoTrack ?? "";
    if (track === this.remoteTrack) return;
    if (this.remoteTrack) await this.parts.actions.detachVideo(this.remoteTrack, this.els.remote);
    this.remoteTrack = track;
    if (track) await this.parts.actions.attachVideo(track, this.els.remote);
    this.l?.remote(track !== "");
  }

  private onNotification(n: Notification): void {
    const l = this.l;
    if (!l) return;
    switch (n.type) {
      case HMSNotificationTypes.RECONNECTING:
        l.state("reconnecting");
        break;
      case HMSNotificationTypes.RECONNECTED:
        l.state("connected");
        break;
      case HMSNotificationTypes.ROOM_ENDED:
      case HMSNotificationTypes.REMOVED_FROM_ROOM:
        if (!this.leaving) this.end("removed", n.message);
        break;
      case HMSNotificationTypes.ERROR: {
        const err = n.data;
        if (err.code === autoplayErrorCode) {
          l.autoplayBlocked();
        } else if (err.isTerminal) {
          this.end("dropped", err.message);
        }
        break;
      }
    }
  }

  async switchCamera(deviceId: string): Promise<void> {
    await this.parts?.actions.setVideoSettings({ deviceId });
  }

  async unblockAudio(): Promise<void> {
    await this.parts?.actions.unblockAudio();
  }

  async leave(): Promise<void> {
    if (this.leaving || this.ended || !this.parts) return;
    this.leaving = true;
    try {
      await this.parts.actions.leave();
    } finally {
      this.end("left", "");
    }
  }

  private end(reason: "left" | "removed" | "dropped", detail: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    this.l?.state("ended", reason, detail);
  }
}
