package hmssim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Templates are stored as the camelCase document last written (a full
// overwrite on update, as on 100ms), so fields the simulator does not model
// survive a round trip. The simulator reads only what it acts on: role names,
// the settings region, the recording upload location and whether the room
// composite recording auto-starts.

func (t *template) view(customerID string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(t.doc)+4)
	for k, v := range t.doc {
		out[k] = v
	}
	out["id"] = mustJSON(t.ID)
	out["name"] = mustJSON(t.Name)
	out["customer_id"] = mustJSON(customerID)
	if _, ok := out["roles"]; !ok {
		out["roles"] = json.RawMessage(`{}`)
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// roles returns the template's roles by name. 100ms sends roles as an object
// keyed by role name; an array of role objects with "name" is accepted too.
func parseRoles(raw json.RawMessage) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, nil
	}
	var byName map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byName); err == nil {
		for name, role := range byName {
			if strings.TrimSpace(name) == "" {
				return nil, errorf(http.StatusBadRequest, "invalid role", "role name is empty")
			}
			var inner struct {
				Name *string `json:"name"`
			}
			if err := json.Unmarshal(role, &inner); err != nil {
				return nil, errorf(http.StatusBadRequest, "invalid role", name+": "+err.Error())
			}
			if inner.Name != nil && *inner.Name != name {
				return nil, errorf(http.StatusBadRequest, "invalid role", "role key "+name+" and name "+*inner.Name+" differ")
			}
			out[name] = role
		}
		return out, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid roles", "roles must be an object keyed by role name")
	}
	for _, role := range list {
		var inner struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(role, &inner); err != nil || inner.Name == "" {
			return nil, errorf(http.StatusBadRequest, "invalid role", "every role needs a name")
		}
		out[inner.Name] = role
	}
	return out, nil
}

func (t *template) roleNames() []string {
	roles, err := parseRoles(t.doc["roles"])
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (t *template) settingsRegion() string {
	var settings struct {
		Region string `json:"region"`
	}
	_ = json.Unmarshal(t.doc["settings"], &settings)
	return settings.Region
}

// uploadLocation is the template's recording storage: bucket and prefix.
func (t *template) uploadLocation() (bucket, prefix string) {
	var settings struct {
		Recording struct {
			Upload struct {
				Location string `json:"location"`
				Prefix   string `json:"prefix"`
			} `json:"upload"`
		} `json:"recording"`
	}
	_ = json.Unmarshal(t.doc["settings"], &settings)
	loc := strings.TrimPrefix(settings.Recording.Upload.Location, "s3://")
	bucket, rest, _ := strings.Cut(loc, "/")
	prefix = strings.Trim(rest+"/"+settings.Recording.Upload.Prefix, "/")
	return bucket, prefix
}

// autoStartsRecording reports whether a room composite recording starts on
// the first join: compositeRecording.browserComposite.autoStart in any
// recordings config.
func (t *template) autoStartsRecording() bool {
	var configs []struct {
		CompositeRecording struct {
			BrowserComposite struct {
				AutoStart bool `json:"autoStart"`
			} `json:"browserComposite"`
		} `json:"compositeRecording"`
	}
	if err := json.Unmarshal(t.doc["recordings"], &configs); err != nil {
		return false
	}
	for _, c := range configs {
		if c.CompositeRecording.BrowserComposite.AutoStart {
			return true
		}
	}
	return false
}

// parseTemplateDoc validates a template body: a JSON object with a usable
// roles field and, for recordings, an array.
func parseTemplateDoc(r *http.Request) (map[string]json.RawMessage, string, error) {
	doc := map[string]json.RawMessage{}
	if err := decodeBody(r, &doc); err != nil {
		return nil, "", err
	}
	delete(doc, "id")
	delete(doc, "customer_id")
	delete(doc, "customer")
	var name string
	if raw, ok := doc["name"]; ok {
		if err := json.Unmarshal(raw, &name); err != nil {
			return nil, "", errorf(http.StatusBadRequest, "invalid template name")
		}
	}
	if _, err := parseRoles(doc["roles"]); err != nil {
		return nil, "", err
	}
	if raw, ok := doc["recordings"]; ok && string(raw) != "null" {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, "", errorf(http.StatusBadRequest, "invalid recordings", "recordings must be an array")
		}
	}
	if raw, ok := doc["settings"]; ok && string(raw) != "null" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, "", errorf(http.StatusBadRequest, "invalid settings", "settings must be an object")
		}
	}
	return doc, strings.TrimSpace(name), nil
}

// createTemplate creates, or overwrites the template of the same name
// (compared without case) keeping its id.
func (s *Server) createTemplate(r *http.Request) (any, error) {
	doc, name, err := parseTemplateDoc(r)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, errorf(http.StatusBadRequest, "invalid template name", "name is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if t := s.templatesByName[strings.ToLower(name)]; t != nil {
		t.doc, t.Name, t.UpdatedAt = doc, name, now
		return t.view(s.cfg.CustomerID), nil
	}
	t := &template{ID: newObjectID(), Name: name, doc: doc, CreatedAt: now, UpdatedAt: now}
	s.templates[t.ID] = t
	s.templateOrder = append(s.templateOrder, t)
	s.templatesByName[strings.ToLower(name)] = t
	return t.view(s.cfg.CustomerID), nil
}

func (s *Server) getTemplate(r *http.Request) (any, error) {
	return s.inTemplate(r, func(t *template) (any, error) { return t.view(s.cfg.CustomerID), nil })
}

func (s *Server) listTemplates(r *http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := make([]map[string]json.RawMessage, 0, len(s.templateOrder))
	for _, t := range s.templateOrder {
		items = append(items, t.view(s.cfg.CustomerID))
	}
	return paginate(r, items, func(v map[string]json.RawMessage) string {
		var id string
		_ = json.Unmarshal(v["id"], &id)
		return id
	})
}

// updateTemplate replaces the whole document; a body without a name keeps
// the current name.
func (s *Server) updateTemplate(r *http.Request) (any, error) {
	doc, name, err := parseTemplateDoc(r)
	if err != nil {
		return nil, err
	}
	return s.inTemplate(r, func(t *template) (any, error) {
		if err := s.renameTemplate(t, name); err != nil {
			return nil, err
		}
		t.doc, t.UpdatedAt = doc, s.now()
		return t.view(s.cfg.CustomerID), nil
	})
}

func (s *Server) renameTemplate(t *template, name string) error {
	if name == "" || strings.EqualFold(name, t.Name) {
		if name != "" {
			t.Name = name
		}
		return nil
	}
	key := strings.ToLower(name)
	if other := s.templatesByName[key]; other != nil && other != t {
		return errorf(http.StatusBadRequest, "template name already exists", name)
	}
	delete(s.templatesByName, strings.ToLower(t.Name))
	t.Name = name
	s.templatesByName[key] = t
	return nil
}

func (s *Server) getTemplateRole(r *http.Request) (any, error) {
	return s.inRole(r, func(_ *template, roles map[string]json.RawMessage, name string) (any, error) {
		return roles[name], nil
	})
}

// inRole is inTemplate with the template's roles and the path's role, which
// must be one of them (404 "role not found").
func (s *Server) inRole(r *http.Request, f func(t *template, roles map[string]json.RawMessage, name string) (any, error)) (any, error) {
	name := r.PathValue("role")
	return s.inTemplate(r, func(t *template) (any, error) {
		roles, _ := parseRoles(t.doc["roles"])
		if _, ok := roles[name]; !ok {
			return nil, errorf(http.StatusNotFound, "role not found", name)
		}
		return f(t, roles, name)
	})
}

// putTemplateRole creates or replaces one role; roles are kept keyed by name.
func (s *Server) putTemplateRole(r *http.Request) (any, error) {
	name := r.PathValue("role")
	role := map[string]json.RawMessage{}
	if err := decodeBody(r, &role); err != nil {
		return nil, err
	}
	role["name"] = mustJSON(name)
	return s.inTemplate(r, func(t *template) (any, error) {
		roles, _ := parseRoles(t.doc["roles"])
		roles[name] = mustJSON(role)
		t.doc["roles"], t.UpdatedAt = mustJSON(roles), s.now()
		return roles[name], nil
	})
}

func (s *Server) deleteTemplateRole(r *http.Request) (any, error) {
	return s.inRole(r, func(t *template, roles map[string]json.RawMessage, name string) (any, error) {
		delete(roles, name)
		t.doc["roles"], t.UpdatedAt = mustJSON(roles), s.now()
		return t.view(s.cfg.CustomerID), nil
	})
}

func (s *Server) templatePartGetter(part string) apiHandler {
	return func(r *http.Request) (any, error) {
		return s.inTemplate(r, func(t *template) (any, error) {
			if raw, ok := t.doc[part]; ok {
				return raw, nil
			}
			if part == "recordings" {
				return json.RawMessage(`[]`), nil
			}
			return json.RawMessage(`{}`), nil
		})
	}
}

// templatePartSetter replaces settings (an object) or recordings (an array
// with one config) and answers with the part, as the role endpoint answers
// with the role (the reference does not show these answers).
func (s *Server) templatePartSetter(part string) apiHandler {
	return func(r *http.Request) (any, error) {
		var raw json.RawMessage
		if err := decodeBody(r, &raw); err != nil {
			return nil, err
		}
		var probe any
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, errorf(http.StatusBadRequest, "invalid "+part)
		}
		switch v := probe.(type) {
		case []any:
			if part != "recordings" {
				return nil, errorf(http.StatusBadRequest, "invalid "+part, part+" must be an object")
			}
			if len(v) != 1 {
				return nil, errorf(http.StatusBadRequest, "invalid recordings", "exactly one recording configuration is allowed")
			}
		case map[string]any:
			if part != "settings" {
				return nil, errorf(http.StatusBadRequest, "invalid "+part, part+" must be an array")
			}
		default:
			return nil, errorf(http.StatusBadRequest, "invalid "+part)
		}
		return s.inTemplate(r, func(t *template) (any, error) {
			t.doc[part], t.UpdatedAt = raw, s.now()
			return raw, nil
		})
	}
}
