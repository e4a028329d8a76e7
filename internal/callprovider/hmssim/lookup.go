package hmssim

import "net/http"

// Handlers that act on an object the path names look it up here, under s.mu,
// so that every object's 404 (message and detail as 100ms answers them) is
// written once.

// byID is the object of id, or 100ms's 404 naming the id's parameter.
func byID[T any](objects map[string]*T, message, param, id string) (*T, error) {
	if v := objects[id]; v != nil {
		return v, nil
	}
	return nil, errorf(http.StatusNotFound, message, param+" "+id)
}

func (s *Server) roomByID(id string) (*room, error) {
	return byID(s.rooms, "room not found", "room_id", id)
}

func (s *Server) recordingByID(id string) (*recording, error) {
	return byID(s.recordings, "recording not found", "recording_id", id)
}

func (s *Server) templateByID(id string) (*template, error) {
	return byID(s.templates, "Template not found", "template_id", id)
}

// locked runs f under s.mu with the object the path's param names.
func locked[T any](s *Server, r *http.Request, param string, lookup func(string) (*T, error), f func(*T) (any, error)) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := lookup(r.PathValue(param))
	if err != nil {
		return nil, err
	}
	return f(v)
}

func (s *Server) inRoom(r *http.Request, f func(*room) (any, error)) (any, error) {
	return locked(s, r, "room_id", s.roomByID, f)
}

func (s *Server) inRecording(r *http.Request, f func(*recording) (any, error)) (any, error) {
	return locked(s, r, "recording_id", s.recordingByID, f)
}

func (s *Server) inTemplate(r *http.Request, f func(*template) (any, error)) (any, error) {
	return locked(s, r, "template_id", s.templateByID, f)
}

// inActiveSession is inRoom for the room's running session; a room without
// one is a 404 (undocumented on 100ms; it lets callers treat it as "already
// ended").
func (s *Server) inActiveSession(r *http.Request, f func(*room, *session) (any, error)) (any, error) {
	return s.inRoom(r, func(rm *room) (any, error) {
		if rm.active == nil {
			return nil, errorf(http.StatusNotFound, "active room not found", "no active session in room "+rm.ID)
		}
		return f(rm, rm.active)
	})
}
