package hms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// pagedServer serves total items of kind under path, limit per page, with a
// cursor that is the id of the last item of the page, as 100ms does.
func pagedServer(t *testing.T, total int, lastOnFinal bool) *fakeHMS {
	return newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit < 10 || limit > 100 {
			writeJSON(w, http.StatusBadRequest, `{"code":400,"message":"invalid limit"}`)
			return
		}
		start := 0
		if s := r.URL.Query().Get("start"); s != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(s, "id-"))
			if err != nil {
				writeJSON(w, http.StatusBadRequest, `{"code":400,"message":"invalid start"}`)
				return
			}
			start = n + 1
		}
		var items []string
		for i := start; i < total && len(items) < limit; i++ {
			items = append(items, fmt.Sprintf(`{"id":"id-%d","room_id":"%s"}`, i, roomID))
		}
		last := ""
		if len(items) > 0 && (lastOnFinal || start+len(items) < total) {
			last = fmt.Sprintf("id-%d", start+len(items)-1)
		}
		lastJSON, _ := json.Marshal(last)
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"limit":%d,"data":[%s],"last":%s}`, limit, strings.Join(items, ","), lastJSON))
	})
}

// idsOf is the ids of what a list call returned.
func idsOf[T any](items []T, id func(T) string) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = id(it)
	}
	return ids
}

func TestListsFollowEveryPage(t *testing.T) {
	lists := map[string]func(ctx context.Context, c *Client) ([]string, error){
		"rooms": func(ctx context.Context, c *Client) ([]string, error) {
			rs, err := c.ListRooms(ctx, RoomFilter{})
			return idsOf(rs, func(r Room) string { return r.ID }), err
		},
		"recordings": func(ctx context.Context, c *Client) ([]string, error) {
			rs, err := c.ListRecordings(ctx, RecordingFilter{RoomID: roomID})
			return idsOf(rs, func(r Recording) string { return r.ID }), err
		},
		"sessions": func(ctx context.Context, c *Client) ([]string, error) {
			rs, err := c.ListSessions(ctx, SessionFilter{RoomID: roomID})
			return idsOf(rs, func(r Session) string { return r.ID }), err
		},
	}
	for _, tc := range []struct {
		name        string
		total       int
		lastOnFinal bool // the final short page still carries a cursor
		wantStarts  []string
	}{
		{"three pages", 237, true, []string{"", "id-99", "id-199"}},
		{"three pages, empty last on the final page", 237, false, []string{"", "id-99", "id-199"}},
		{"exact multiple ends on an empty page", 200, true, []string{"", "id-99", "id-199"}},
		{"exact multiple ends on an empty cursor", 200, false, []string{"", "id-99"}},
		{"one short page", 7, true, []string{""}},
		{"empty", 0, true, []string{""}},
	} {
		for kind, list := range lists {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				f := pagedServer(t, tc.total, tc.lastOnFinal)
				ids, err := list(context.Background(), f.client(t))
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) != tc.total {
					t.Fatalf("%d items, want %d", len(ids), tc.total)
				}
				for i, id := range ids {
					if id != fmt.Sprintf("id-%d", i) {
						t.Fatalf("item %d = %s: pages out of order or repeated", i, id)
					}
				}
				reqs := f.requests()
				var starts []string
				for _, r := range reqs {
					starts = append(starts, r.Query.Get("start"))
					if r.Query.Get("limit") != "100" {
						t.Errorf("limit = %q, want 100", r.Query.Get("limit"))
					}
					if kind != "rooms" && r.Query.Get("room_id") != roomID {
						t.Errorf("page request lost the filter: %v", r.Query)
					}
				}
				if strings.Join(starts, ",") != strings.Join(tc.wantStarts, ",") {
					t.Errorf("start cursors = %q, want %q", starts, tc.wantStarts)
				}
			})
		}
	}
}

func TestListHonoursAServerClampedLimit(t *testing.T) {
	// A server that ignores our limit and pages by 10 must still be followed.
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.URL.Query().Get("start") {
		case "":
			writeJSON(w, http.StatusOK, `{"limit":10,"data":[`+strings.TrimSuffix(strings.Repeat(`{"id":"a"},`, 10), ",")+`],"last":"a9"}`)
		case "a9":
			writeJSON(w, http.StatusOK, `{"limit":10,"data":[{"id":"b"}],"last":"b0"}`)
		default:
			writeJSON(w, http.StatusBadRequest, `{"code":400,"message":"bad cursor"}`)
		}
	})
	rooms, err := f.client(t).ListRooms(context.Background(), RoomFilter{})
	if err != nil || len(rooms) != 11 {
		t.Fatalf("rooms = %d, err = %v; want 11", len(rooms), err)
	}
}

func TestListStopsOnARepeatedCursor(t *testing.T) {
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusOK, `{"limit":10,"data":[`+strings.TrimSuffix(strings.Repeat(`{"id":"a"},`, 10), ",")+`],"last":"same"}`)
	})
	_, err := f.client(t).ListSessions(context.Background(), SessionFilter{})
	if err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Fatalf("err = %v, want a repeated-cursor error", err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestListPageErrorIsReturned(t *testing.T) {
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.URL.Query().Get("start") == "" {
			writeJSON(w, http.StatusOK, `{"limit":10,"data":[`+strings.TrimSuffix(strings.Repeat(`{"id":"a"},`, 10), ",")+`],"last":"a9"}`)
			return
		}
		writeJSON(w, http.StatusServiceUnavailable, `{"code":503,"message":"unavailable"}`)
	})
	_, err := f.client(t).ListRecordings(context.Background(), RecordingFilter{})
	if !IsRetryable(err) {
		t.Fatalf("err = %v, want the retryable 503 of page 2", err)
	}
}
