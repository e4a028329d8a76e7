package hmssim

import "net/http"

func (s *Server) listSessions(r *http.Request) (any, error) {
	active, err := boolFilter(r, "active")
	if err != nil {
		return nil, err
	}
	after, err := timeFilter(r, "after")
	if err != nil {
		return nil, err
	}
	before, err := timeFilter(r, "before")
	if err != nil {
		return nil, err
	}
	roomID := r.URL.Query().Get("room_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []sessionJSON
	for _, ss := range s.sessionOrder {
		if roomID != "" && ss.RoomID != roomID || active != nil && ss.Active != *active ||
			!inRange(ss.CreatedAt, after, before) {
			continue
		}
		items = append(items, s.sessionView(ss))
	}
	return paginate(r, items, func(v sessionJSON) string { return v.ID })
}

func (s *Server) getSession(r *http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[r.PathValue("session_id")]
	if ss == nil {
		return nil, errorf(http.StatusNotFound, "session not found", "session_id "+r.PathValue("session_id"))
	}
	return s.sessionView(ss), nil
}
