package activities

import (
	"context"
	"fmt"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// CreateRoom creates (or finds: 100ms upserts rooms by name) the room of a
// case attempt. The description carries ids only, never the customer's data.
func (a *Activities) CreateRoom(ctx context.Context, in CreateRoomInput) (RoomInfo, error) {
	name := kyc.RoomName(in.CaseID, in.Attempt)
	room, err := a.HMS.CreateRoom(ctx, hms.CreateRoomRequest{
		Name:        name,
		Description: fmt.Sprintf("vKYC case %s attempt %d", in.CaseID, in.Attempt),
		TemplateID:  a.TemplateID,
	})
	if err != nil {
		return RoomInfo{}, hmsError("create room "+name, err)
	}
	a.log().InfoContext(ctx, "room ready", "case_id", in.CaseID, "attempt", in.Attempt, "room_id", room.ID)
	return RoomInfo{ID: room.ID, Name: room.Name}, nil
}

// EndRoom ends the room's active session; a room with no session (404) has
// nothing to end.
func (a *Activities) EndRoom(ctx context.Context, in EndRoomInput) error {
	if err := a.HMS.EndRoom(ctx, in.RoomID, in.Reason, in.Lock); err != nil && !hms.IsNotFound(err) {
		return hmsError("end room "+in.RoomID, err)
	}
	return nil
}

// DisableRoom makes a room unjoinable. A room 100ms does not know (404) is
// as unjoinable as a disabled one, so that counts as done.
func (a *Activities) DisableRoom(ctx context.Context, roomID string) error {
	if _, err := a.HMS.DisableRoom(ctx, roomID); err != nil && !hms.IsNotFound(err) {
		return hmsError("disable room "+roomID, err)
	}
	return nil
}

// CloseRoomInput ends a room's session (End) and disables the room.
type CloseRoomInput struct {
	RoomID string `json:"room_id"`
	Reason string `json:"reason"`
	End    bool   `json:"end"`
}

// CloseRoom ends the room's active session, if End, locking it, and
// disables the room so that nobody can join it again: one activity, since
// a closed attempt always needs both. Either step finding nothing to do
// (404) counts as done.
func (a *Activities) CloseRoom(ctx context.Context, in CloseRoomInput) error {
	if in.End {
		if err := a.EndRoom(ctx, EndRoomInput{RoomID: in.RoomID, Reason: in.Reason, Lock: true}); err != nil {
			return err
		}
	}
	return a.DisableRoom(ctx, in.RoomID)
}
