// Camera and microphone: the preview's getUserMedia with readable errors,
// and the list of cameras for "Switch camera".

export type MediaProblem = "denied" | "no_device" | "in_use" | "insecure" | "other";

export class MediaError extends Error {
  constructor(readonly problem: MediaProblem, message: string) {
    super(message);
  }
}

export const mediaMessages: Record<MediaProblem, string> = {
  denied: "Camera and microphone access was blocked. Allow access in your browser's site settings (the camera icon in the address bar), then press Try again.",
  no_device: "No camera or microphone was found. Connect one, then press Try again.",
  in_use: "Your camera or microphone is being used by another app. Close that app, then press Try again.",
  insecure: "This page must be opened over a secure (https) connection to use the camera.",
  other: "The camera or microphone could not be started. Press Try again.",
};

// classify maps getUserMedia's DOMException names to what a person can do
// about them.
export function classify(err: unknown): MediaProblem {
  const name = (err as { name?: string } | null)?.name ?? "";
  switch (name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "no_device";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "in_use";
  }
  return "other";
}

export async function openCamera(videoDeviceId?: string): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new MediaError("insecure", mediaMessages.insecure);
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: videoDeviceId ? { deviceId: { exact: videoDeviceId } } : { width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (err) {
    const p = classify(err);
    throw new MediaError(p, mediaMessages[p]);
  }
}

export async function cameras(): Promise<MediaDeviceInfo[]> {
  try {
    return (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  } catch {
    return [];
  }
}

// nextCamera picks the camera after the current one, wrapping around.
export function nextCamera(list: MediaDeviceInfo[], currentId: string | undefined): MediaDeviceInfo | undefined {
  if (list.length < 2) return undefined;
  const i = list.findIndex((d) => d.deviceId === currentId);
  return list[(i + 1) % list.length];
}
