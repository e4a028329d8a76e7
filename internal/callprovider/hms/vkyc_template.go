package hms

import "github.com/vkyc-engine/vkyc/internal/case/kyc"

// RecordingStorage is the bucket room-composite recordings are uploaded to.
// It must be ours: the engine verifies every recording in its own storage
// before a case can be audited.
type RecordingStorage struct {
	Type      string // s3 (default), gs, oss, azure
	Bucket    string
	Prefix    string
	Region    string
	AccessKey string
	SecretKey string
}

// String keeps the secret out of %v output.
func (s RecordingStorage) String() string {
	return "{type:" + s.Type + " bucket:" + s.Bucket + " prefix:" + s.Prefix + " region:" + s.Region + " secret:REDACTED}"
}

// The vKYC recording configuration's name in the template.
const vkycRecordingName = "vkyc-composite"

// VKYCTemplate is the template of 100ms's video-KYC integration guide as
// code: roles agent and customer publishing audio and video (no screenshare)
// at 360p with 360p/180p simulcast, each subscribed to both roles with
// subscribe degradation, no peer limit, room state on, and a room-composite
// recording that starts by itself when the room is joined and is uploaded to
// storage, with SFU recording off.
//
// Region is left to the workspace default; a deployment that must keep media
// in one region sets Settings.Region on the result.
func VKYCTemplate(name string, storage RecordingStorage) Template {
	agent := vkycRole(string(kyc.RoleAgent))
	// The guide's "subscribe degradation for the agent, but with the option
	// to not turn video off": on a poor downlink the agent gets lower layers
	// of the customer's video but never loses it, because the agent cannot
	// verify a face or a document from audio alone. The key is undocumented
	// (see SubscribeDegradation.VideoAlwaysEnabled).
	agent.SubscribeParams.SubscribeDegradation.VideoAlwaysEnabled = true
	// The guide lists the same permissions for both roles. We grant the
	// session controls to the agent alone: a customer who could end or lock
	// the room, or mute the agent, could tamper with a regulated call, and a
	// customer who wants out simply leaves.
	agent.Permissions.Mute = true   // "Mute any peer"
	agent.Permissions.Unmute = true // "Ask any peer to unmute"
	agent.Permissions.EndRoom = true

	customer := vkycRole(string(kyc.RoleCustomer))

	storageType := storage.Type
	if storageType == "" {
		storageType = "s3"
	}
	upload := &RecordingUpload{
		Type:     storageType,
		Location: storage.Bucket,
		Prefix:   storage.Prefix,
	}
	if storage.Region != "" {
		upload.Options = &UploadOptions{Region: storage.Region}
	}
	if storage.AccessKey != "" || storage.SecretKey != "" {
		upload.Credentials = &UploadCredentials{Key: storage.AccessKey, SecretKey: storage.SecretKey}
	}

	return Template{
		Name: name,
		Roles: map[string]Role{
			agent.Name:    agent,
			customer.Name: customer,
		},
		Settings: TemplateSettings{
			Recording: &RecordingSettings{
				Enabled: false, // SFU recording off: the composite recording is the evidence
				Upload:  upload,
			},
			RoomState: &RoomStateSettings{
				Enabled:         true,
				MessageInterval: 5,
				// The count is enough for a preview to tell whether the other
				// side is waiting; names of peers stay out of it.
				SendPeerList:        false,
				StopRoomStateOnJoin: true,
			},
		},
		Recordings: []RecordingConfig{{
			Name: vkycRecordingName,
			// The role the recording browser joins as; agent subscribes to
			// both roles, so the recording shows both sides. Should 100ms
			// report the recording browser as a peer, it has the agent role
			// but none of our user ids: webhook intake must recognise the
			// real agent by user_id, not by role.
			Role: string(kyc.RoleAgent),
			// A bound on a recording nobody stopped (a call is far shorter);
			// 100ms also stops it 5 minutes after the last peer leaves.
			MaxDuration: 2 * 60 * 60,
			CompositeRecording: &CompositeRecording{
				BrowserComposite: &BrowserComposite{AutoStart: true, Width: 1280, Height: 720},
				CustomComposite:  &Toggle{Enabled: false},
			},
			TrackRecording:  &Toggle{Enabled: false},
			StreamRecording: &StreamRecording{Enabled: false},
		}},
	}
}

// vkycRole is the part both roles share. Every permission starts off;
// notably recording and streaming, which 100ms grants by default: no
// participant may stop the evidence recording or stream the call.
func vkycRole(name string) Role {
	return Role{
		Name: name,
		PublishParams: PublishParams{
			Allowed: []string{TrackAudio, TrackVideo, TrackSimulcast},
			Audio:   &AudioParams{BitRate: 32, Codec: "opus"},
			Video:   &VideoParams{BitRate: 400, Codec: "vp8", FrameRate: 25, Width: 640, Height: 360},
			Simulcast: &Simulcast{Video: &SimulcastLayers{Layers: []SimulcastLayer{
				{RID: "f", ScaleResolutionDownBy: 1, MaxBitrate: 400, MaxFramerate: 25}, // 360p
				{RID: "h", ScaleResolutionDownBy: 2, MaxBitrate: 150, MaxFramerate: 25}, // 180p
			}}},
		},
		SubscribeParams: SubscribeParams{
			SubscribeToRoles: []string{string(kyc.RoleAgent), string(kyc.RoleCustomer)},
			MaxSubsBitRate:   3200,
			SubscribeDegradation: &SubscribeDegradation{
				PacketLossThreshold:       25,
				DegradeGracePeriodSeconds: 1,
				RecoverGracePeriodSeconds: 4,
			},
		},
		Permissions: Permissions{
			// "Receive preview room state": both sides see in preview whether
			// the other is already in the room.
			SendRoomState: true,
		},
		Priority:     1,
		MaxPeerCount: 0, // no limit
	}
}
