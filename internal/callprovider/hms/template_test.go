package hms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

var testStorage = RecordingStorage{
	Bucket: "vkyc-recordings", Prefix: "hms", Region: "ap-south-1",
	AccessKey: "AKIAEXAMPLE", SecretKey: "storage-secret",
}

// jsonTree marshals v and reads it back as generic JSON: what 100ms receives.
func jsonTree(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at walks a path of object keys and array indexes.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %v", path, path[:i])
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("%v: no key %q", path, k)
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("%v: no index %d", path, k)
			}
			v = a[k]
		}
	}
	return v
}

func assertAt(t *testing.T, tree any, want any, path ...any) {
	t.Helper()
	if got := at(t, tree, path...); !reflect.DeepEqual(got, want) {
		t.Errorf("%v = %#v, want %#v", path, got, want)
	}
}

// camelCaseKeys reports keys that are not camelCase, skipping the role map
// whose keys are role names.
func camelCaseKeys(v any, path string, bad *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if path != ".roles" && (strings.ContainsAny(k, "_- ") || (k != "" && unicode.IsUpper(rune(k[0])))) {
				*bad = append(*bad, path+"."+k)
			}
			camelCaseKeys(child, path+"."+k, bad)
		}
	case []any:
		for i, child := range x {
			camelCaseKeys(child, fmt.Sprintf("%s[%d]", path, i), bad)
		}
	}
}

func TestVKYCTemplateJSON(t *testing.T) {
	tree := jsonTree(t, VKYCTemplate("vkyc-engine", testStorage))

	var bad []string
	camelCaseKeys(tree, "", &bad)
	if len(bad) > 0 {
		t.Errorf("keys not in camelCase: %v", bad)
	}
	if _, ok := tree["id"]; ok {
		t.Error("a new template carries an id")
	}
	assertAt(t, tree, "vkyc-engine", "name")
	if roles := at(t, tree, "roles").(map[string]any); len(roles) != 2 {
		t.Fatalf("roles = %v, want agent and customer", roles)
	}

	for _, role := range []string{"agent", "customer"} {
		r := at(t, tree, "roles", role)
		assertAt(t, r, role, "name")
		assertAt(t, r, []any{"audio", "video", "simulcast"}, "publishParams", "allowed") // no "screen"
		assertAt(t, r, float64(640), "publishParams", "video", "width")
		assertAt(t, r, float64(360), "publishParams", "video", "height")
		layers := at(t, r, "publishParams", "simulcast", "video", "layers").([]any)
		if len(layers) != 2 {
			t.Fatalf("%s: %d simulcast layers, want 360p and 180p", role, len(layers))
		}
		assertAt(t, layers, "f", 0, "rid")
		assertAt(t, layers, float64(1), 0, "scaleResolutionDownBy")
		assertAt(t, layers, "h", 1, "rid")
		assertAt(t, layers, float64(2), 1, "scaleResolutionDownBy") // 360/2 = 180p
		assertAt(t, r, []any{"agent", "customer"}, "subscribeParams", "subscribeToRoles")
		deg := at(t, r, "subscribeParams", "subscribeDegradation").(map[string]any)
		if deg["packetLossThreshold"] == nil {
			t.Errorf("%s: subscribe degradation not configured: %v", role, deg)
		}
		_, videoOn := deg["videoAlwaysEnabled"]
		if videoOn != (role == "agent") {
			t.Errorf("%s: videoAlwaysEnabled present = %v", role, videoOn)
		}
		assertAt(t, r, float64(0), "maxPeerCount") // no limit, sent explicitly
		perms := at(t, r, "permissions").(map[string]any)
		if len(perms) != 11 {
			t.Errorf("%s: %d permissions sent, want all 11 explicitly: %v", role, len(perms), perms)
		}
		for _, p := range []string{"browserRecording", "rtmpStreaming", "hlsStreaming", "removeOthers", "changeRole", "pollRead", "pollWrite"} {
			if perms[p] != false {
				t.Errorf("%s: permission %s = %v, want false", role, p, perms[p])
			}
		}
		assertAt(t, r, true, "permissions", "sendRoomState")
		agent := role == "agent"
		for _, p := range []string{"mute", "unmute", "endRoom"} {
			if perms[p] != agent {
				t.Errorf("%s: permission %s = %v, want %v", role, p, perms[p], agent)
			}
		}
	}
	assertAt(t, tree, true, "roles", "agent", "subscribeParams", "subscribeDegradation", "videoAlwaysEnabled")

	assertAt(t, tree, false, "settings", "recording", "enabled") // SFU recording off
	assertAt(t, tree, map[string]any{
		"type": "s3", "location": "vkyc-recordings", "prefix": "hms",
		"options":     map[string]any{"region": "ap-south-1"},
		"credentials": map[string]any{"key": "AKIAEXAMPLE", "secretKey": "storage-secret"},
	}, "settings", "recording", "upload")
	assertAt(t, tree, true, "settings", "roomState", "enabled")

	recs := at(t, tree, "recordings").([]any)
	if len(recs) != 1 {
		t.Fatalf("%d recording configs, want 1", len(recs))
	}
	assertAt(t, recs, "agent", 0, "role")
	assertAt(t, recs, true, 0, "compositeRecording", "browserComposite", "autoStart")
	assertAt(t, recs, false, 0, "compositeRecording", "customComposite", "enabled")
	assertAt(t, recs, false, 0, "trackRecording", "enabled")
	assertAt(t, recs, false, 0, "streamRecording", "enabled")
}

func TestVKYCTemplateStorageDefaults(t *testing.T) {
	tree := jsonTree(t, VKYCTemplate("vkyc", RecordingStorage{Bucket: "b", Prefix: "p"}))
	upload := at(t, tree, "settings", "recording", "upload").(map[string]any)
	if upload["type"] != "s3" || upload["credentials"] != nil || upload["options"] != nil {
		t.Errorf("upload = %v, want s3 without credentials or options", upload)
	}
	tree = jsonTree(t, VKYCTemplate("vkyc", RecordingStorage{Type: "gs", Bucket: "b"}))
	assertAt(t, tree, "gs", "settings", "recording", "upload", "type")
}

func TestSecretsStayOutOfFormatting(t *testing.T) {
	tpl := VKYCTemplate("vkyc", testStorage)
	for _, s := range []string{
		fmt.Sprintf("%v", testStorage), fmt.Sprintf("%+v", testStorage),
		fmt.Sprintf("%v", *tpl.Settings.Recording.Upload.Credentials),
		fmt.Sprintf("%+v", *tpl.Settings.Recording.Upload),
		fmt.Sprintf("%v", UploadInfoSecrets{Key: "k", Secret: "storage-secret"}),
	} {
		if strings.Contains(s, "storage-secret") {
			t.Errorf("secret printed: %s", s)
		}
	}
}

func TestApplyTemplateCreatesThenConfiguresRecording(t *testing.T) {
	tpl := VKYCTemplate("vkyc-engine", testStorage)
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch r.URL.Path {
		case "/v2/templates":
			var got map[string]any
			_ = json.Unmarshal(body, &got)
			got["id"] = templateID
			delete(got, "recordings") // as if 100ms ignored the field
			b, _ := json.Marshal(got)
			writeJSON(w, http.StatusOK, string(b))
		case "/v2/templates/" + templateID + "/recordings":
			writeJSON(w, http.StatusOK, string(body))
		default:
			writeJSON(w, http.StatusNotFound, `{"code":404,"message":"not found"}`)
		}
	})
	out, err := f.client(t).ApplyTemplate(context.Background(), tpl)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want create + recordings", len(reqs))
	}
	if reqs[0].Method != "POST" || reqs[0].Path != "/v2/templates" {
		t.Errorf("first request %s %s", reqs[0].Method, reqs[0].Path)
	}
	want, _ := json.Marshal(tpl)
	assertJSON(t, reqs[0].Body, string(want))
	if reqs[1].Method != "POST" || reqs[1].Path != "/v2/templates/"+templateID+"/recordings" {
		t.Errorf("second request %s %s", reqs[1].Method, reqs[1].Path)
	}
	wantRecs, _ := json.Marshal(tpl.Recordings)
	assertJSON(t, reqs[1].Body, string(wantRecs))
	if out.ID != templateID || len(out.Recordings) != 1 || !out.Recordings[0].CompositeRecording.BrowserComposite.AutoStart {
		t.Errorf("applied template = %+v", out)
	}
	if !out.Roles["agent"].SubscribeParams.SubscribeDegradation.VideoAlwaysEnabled {
		t.Error("videoAlwaysEnabled lost in the round trip")
	}
}

func TestApplyTemplateStopsOnCreateFailure(t *testing.T) {
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusBadRequest, `{"code":400,"message":"Invalid upload configuration"}`)
	})
	_, err := f.client(t).ApplyTemplate(context.Background(), VKYCTemplate("vkyc", testStorage))
	if err == nil || IsRetryable(err) || len(f.requests()) != 1 {
		t.Fatalf("err = %v after %d requests, want the permanent 400 of create alone", err, len(f.requests()))
	}
}

func TestTemplateChecks(t *testing.T) {
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusOK, `{}`)
	})
	c := f.client(t)
	ctx := context.Background()
	for name, tpl := range map[string]Template{
		"empty name":          {},
		"name with slash":     {Name: "a/b"},
		"role key mismatches": {Name: "t", Roles: map[string]Role{"agent": {Name: "customer"}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.CreateTemplate(ctx, tpl); err == nil {
				t.Error("CreateTemplate accepted it")
			}
			if _, err := c.UpdateTemplate(ctx, templateID, tpl); err == nil {
				t.Error("UpdateTemplate accepted it")
			}
		})
	}
	if _, err := c.SetTemplateRecordings(ctx, templateID, nil); err == nil {
		t.Error("SetTemplateRecordings accepted no configuration")
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}
