package hmssim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
)

var roomNameRE = regexp.MustCompile(`^[a-zA-Z0-9.\-:_]+$`)

// Limits of the create-room body, from the 100ms reference.
const (
	maxRoomNameLen        = 100 // undocumented; 100ms rejects very long names
	minMaxDurationSeconds = 120
	maxMaxDurationSeconds = 43200
)

var validRegions = map[string]bool{"in": true, "us": true, "eu": true, "auto": true}

type roomRequest struct {
	Name               *string         `json:"name"`
	Description        *string         `json:"description"`
	TemplateID         *string         `json:"template_id"`
	Template           *string         `json:"template"` // template by name, the older form
	Region             *string         `json:"region"`
	RecordingInfo      json.RawMessage `json:"recording_info"`
	Size               *int            `json:"size"`
	MaxDurationSeconds *int            `json:"max_duration_seconds"`
	LargeRoom          *bool           `json:"large_room"`
	Webhook            *roomWebhook    `json:"webhook"`
	Enabled            *bool           `json:"enabled"` // update only
}

// decodeRoomRequest reads and validates the body of a room create or update.
func decodeRoomRequest(r *http.Request) (roomRequest, error) {
	var req roomRequest
	if err := decodeBody(r, &req); err != nil {
		return req, err
	}
	return req, req.validate()
}

// validate checks the fields present; the template is resolved separately.
func (req *roomRequest) validate() error {
	if req.Name != nil && *req.Name != "" {
		if len(*req.Name) > maxRoomNameLen || !roomNameRE.MatchString(*req.Name) {
			return errorf(http.StatusBadRequest, "invalid room name",
				"name may only contain a-z A-Z 0-9 . - : _ and be at most 100 characters")
		}
	}
	if req.Region != nil && *req.Region != "" && !validRegions[*req.Region] {
		return errorf(http.StatusBadRequest, "invalid region", "region must be one of in, us, eu, auto")
	}
	if req.MaxDurationSeconds != nil && *req.MaxDurationSeconds != 0 &&
		(*req.MaxDurationSeconds < minMaxDurationSeconds || *req.MaxDurationSeconds > maxMaxDurationSeconds) {
		return errorf(http.StatusBadRequest, "invalid max_duration_seconds", "must be within 120..43200")
	}
	if req.Size != nil && *req.Size < 0 {
		return errorf(http.StatusBadRequest, "invalid size")
	}
	if req.Webhook != nil && req.Webhook.URL != "" &&
		!strings.HasPrefix(req.Webhook.URL, "http://") && !strings.HasPrefix(req.Webhook.URL, "https://") {
		return errorf(http.StatusBadRequest, "invalid webhook url")
	}
	return nil
}

// resolveTemplate finds the template named by the request; "Template not
// found" is a 400 on 100ms, not a 404. Called with s.mu held.
func (s *Server) resolveTemplate(req *roomRequest) (string, bool, error) {
	switch {
	case req.TemplateID != nil && *req.TemplateID != "":
		if s.templates[*req.TemplateID] == nil {
			return "", false, errorf(http.StatusBadRequest, "Template not found", "template_id "+*req.TemplateID)
		}
		return *req.TemplateID, true, nil
	case req.Template != nil && *req.Template != "":
		t := s.templatesByName[strings.ToLower(*req.Template)]
		if t == nil {
			return "", false, errorf(http.StatusBadRequest, "Template not found", "template "+*req.Template)
		}
		return t.ID, true, nil
	}
	return "", false, nil
}

// apply copies the fields present in req onto rm.
func (req *roomRequest) apply(rm *room) {
	if req.Description != nil {
		rm.Description = *req.Description
	}
	if req.Region != nil && *req.Region != "" {
		rm.Region = *req.Region
	}
	if len(req.RecordingInfo) > 0 && string(req.RecordingInfo) != "null" {
		rm.RecordingInfo = append(json.RawMessage(nil), req.RecordingInfo...)
	}
	if req.Size != nil {
		rm.Size = *req.Size
	}
	if req.MaxDurationSeconds != nil {
		rm.MaxDurationSeconds = *req.MaxDurationSeconds
	}
	if req.LargeRoom != nil {
		rm.LargeRoom = *req.LargeRoom
	}
	if req.Webhook != nil {
		if req.Webhook.URL == "" {
			rm.Webhook = nil
		} else {
			wh := &roomWebhook{URL: req.Webhook.URL, Headers: map[string]string{}}
			for k, v := range req.Webhook.Headers {
				wh.Headers[k] = v
			}
			rm.Webhook = wh
		}
	}
}

// createRoom is an upsert by name: an existing name (compared without case)
// returns that room, updated with the fields sent. Creating again does not
// re-enable a disabled room: enabling is an explicit update, so a retried
// create can never reopen a room the engine has locked.
func (s *Server) createRoom(r *http.Request) (any, error) {
	req, err := decodeRoomRequest(r)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	templateID, hasTemplate, err := s.resolveTemplate(&req)
	if err != nil {
		return nil, err
	}
	now := s.now()
	name := ""
	if req.Name != nil {
		name = *req.Name
	}
	if name != "" {
		if rm := s.roomsByName[strings.ToLower(name)]; rm != nil {
			req.apply(rm)
			if hasTemplate {
				rm.TemplateID = templateID
			}
			rm.UpdatedAt = now
			return s.roomView(rm), nil
		}
	} else {
		name = newPeerID() // 100ms names unnamed rooms with a UUID
	}
	rm := &room{ID: newObjectID(), Name: name, Enabled: true, Region: "in", TemplateID: templateID, CreatedAt: now}
	if t := s.templates[templateID]; t != nil {
		if region := t.settingsRegion(); region != "" {
			rm.Region = region
		}
	}
	req.apply(rm)
	s.rooms[rm.ID] = rm
	s.roomOrder = append(s.roomOrder, rm)
	s.roomsByName[strings.ToLower(name)] = rm
	return s.roomView(rm), nil
}

func (s *Server) getRoom(r *http.Request) (any, error) {
	return s.inRoom(r, func(rm *room) (any, error) { return s.roomView(rm), nil })
}

// updateRoom changes the fields sent. Disabling keeps the current session
// running (as 100ms does) but refuses every later join.
func (s *Server) updateRoom(r *http.Request) (any, error) {
	req, err := decodeRoomRequest(r)
	if err != nil {
		return nil, err
	}
	return s.inRoom(r, func(rm *room) (any, error) {
		templateID, hasTemplate, err := s.resolveTemplate(&req)
		if err != nil {
			return nil, err
		}
		if req.Name != nil && *req.Name != "" && !strings.EqualFold(*req.Name, rm.Name) {
			key := strings.ToLower(*req.Name)
			if s.roomsByName[key] != nil {
				return nil, errorf(http.StatusBadRequest, "room name already exists", *req.Name)
			}
			delete(s.roomsByName, strings.ToLower(rm.Name))
			rm.Name = *req.Name
			s.roomsByName[key] = rm
		}
		req.apply(rm)
		if hasTemplate {
			rm.TemplateID = templateID
		}
		if req.Enabled != nil {
			rm.Enabled = *req.Enabled
		}
		rm.UpdatedAt = s.now()
		return s.roomView(rm), nil
	})
}

// listRooms filters by enabled, name, template_id and created_at range. The
// reference lists "Default: true" for enabled; we read that as the flag's
// meaning and filter only when it is given, so no room is ever hidden.
func (s *Server) listRooms(r *http.Request) (any, error) {
	filter, err := parseListFilter(r, "enabled")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	name, templateID := q.Get("name"), q.Get("template_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []roomJSON
	for _, rm := range s.roomOrder {
		if !filter.keeps(rm.Enabled, rm.CreatedAt) ||
			name != "" && !strings.EqualFold(name, rm.Name) ||
			templateID != "" && rm.TemplateID != templateID {
			continue
		}
		items = append(items, s.roomView(rm))
	}
	return paginate(r, items, func(v roomJSON) string { return v.ID })
}
