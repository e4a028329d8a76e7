package hmssim

import "net/http"

func (s *Server) listSessions(r *http.Request) (any, error) {
	filter, err := parseListFilter(r, "active")
	if err != nil {
		return nil, err
	}
	roomID := r.URL.Query().Get("room_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []sessionJSON
	for _, ss := range s.sessionOrder {
		if roomID != "" && ss.RoomID != roomID || !filter.keeps(ss.Active, ss.CreatedAt) {
			continue
		}
		items = append(items, s.sessionView(ss))
	}
	return paginate(r, items, func(v sessionJSON) string { return v.ID })
}

func (s *Server) getSession(r *http.Request) (any, error) {
	return locked(s, r, "session_id", func(id string) (*session, error) {
		return byID(s.sessions, "session not found", "session_id", id)
	}, func(ss *session) (any, error) { return s.sessionView(ss), nil })
}
