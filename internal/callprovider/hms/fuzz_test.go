package hms

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecodeEvent: DecodeEvent never panics, fails only with
// ErrInvalidEvent, and an event it accepts re-encodes to a body that decodes
// to the same event. DecodeEnvelope accepts exactly the same bodies and reads
// the same id, type and room name. The committed corpus in testdata/fuzz/FuzzDecodeEvent
// holds one payload per event type plus the crashers fuzzing has found.
func FuzzDecodeEvent(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed payloads: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"id":"a","type":"peer.leave.success","data":{"duration":"40","size":1.5e3,"left_at":"2021-11-30T12:58:58.500451704Z"}}`,
		`{"id":"a","type":"x","timestamp":"0001-01-01T00:00:00Z","data":{"joined_at":"9999-12-31T23:59:59-01:00"}}`,
		`{"id":"a","type":"x","timestamp":-62135596801,"data":{"stopped_at":253402300799.9}}`,
		`{"id":7,"type":"x","data":null}`,
		`{"id":"a","type":"x","data":[]}`,
		`{"id":"a","type":"x","data":{"user_data":{"a":[1,"<b>"]},"size":"9223372036854775808"}}`,
		`{"id":"\u00e9\ud800","type":"x","version":{"v":2},"data":{"room_id":"\u2028"}}`,
		`[]`, `null`, `"x"`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodeEvent(body)
		env, envErr := DecodeEnvelope(body)
		switch {
		case (err == nil) != (envErr == nil):
			t.Fatalf("DecodeEvent err %v, DecodeEnvelope err %v: they must accept the same bodies", err, envErr)
		case envErr != nil && !errors.Is(envErr, ErrInvalidEvent):
			t.Fatalf("DecodeEnvelope = %v; want ErrInvalidEvent", envErr)
		case err == nil && (env.ID != ev.ID || env.Type != ev.Type || env.RoomName != ev.Data.RoomName):
			t.Fatalf("envelope %+v, event id %q type %q room %q", env, ev.ID, ev.Type, ev.Data.RoomName)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) || ev != nil {
				t.Fatalf("DecodeEvent = %v, %v; want nil and ErrInvalidEvent", ev, err)
			}
			return
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeEvent(again)
		if err != nil {
			t.Fatalf("decode re-encoded %s: %v", again, err)
		}
		if back.ID != ev.ID || back.Type != ev.Type {
			t.Fatalf("id/type %q/%q became %q/%q", ev.ID, ev.Type, back.ID, back.Type)
		}
		if !back.Timestamp.Equal(ev.Timestamp) || !reflect.DeepEqual(back.Data, ev.Data) ||
			back.Version != ev.Version || back.AppID != ev.AppID || back.AccountID != ev.AccountID || back.IsReplay != ev.IsReplay {
			t.Fatalf("round trip changed the event\n got: %+v\nwant: %+v", back, ev)
		}
		if ev.RawData != nil {
			var a, b any
			if json.Unmarshal(ev.RawData, &a) != nil || json.Unmarshal(back.RawData, &b) != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("raw data changed: %s became %s", ev.RawData, back.RawData)
			}
		}
	})
}
