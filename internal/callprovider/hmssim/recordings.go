package hmssim

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"time"
)

// Room composite ("beam") recording: starting → running → stopping →
// post_processing → completed | failed, with the beam.* webhooks.

const (
	defaultRecordingWidth  = 1280
	defaultRecordingHeight = 720
	recordingContentType   = "video/mp4"
)

// Beam failure types of beam.failure.
const (
	beamInternalError = "INTERNAL_ERROR"
	beamUploadError   = "UPLOAD_ERROR"
	beamStopped       = "BEAM_STOPPED"
)

type recordingRequest struct {
	MeetingURL string `json:"meeting_url"`
	Resolution *struct {
		Width  int `json:"width"`
		Height int `json:"height"`
	} `json:"resolution"`
	AudioOnly bool `json:"audio_only"`
}

// createRecording starts a recording job for the session; it runs after
// RecordingStartDelay. Called with s.mu held.
func (s *Server) createRecording(rm *room, ss *session, req recordingRequest) *recording {
	now := s.now()
	rec := &recording{
		ID: newObjectID(), RoomID: rm.ID, SessionID: ss.ID, Status: recStarting,
		MeetingURL: req.MeetingURL, Width: defaultRecordingWidth, Height: defaultRecordingHeight,
		AudioOnly: req.AudioOnly, CreatedAt: now, UpdatedAt: now, sessionSeq: ss.seq,
	}
	if rec.MeetingURL == "" {
		rec.MeetingURL = "https://app.100ms.live/preview/" + rm.ID + "?skip_preview=true&token=beam_recording"
	}
	if req.Resolution != nil && req.Resolution.Width > 0 && req.Resolution.Height > 0 {
		rec.Width, rec.Height = req.Resolution.Width, req.Resolution.Height
	}
	s.recordings[rec.ID] = rec
	s.recordingOrder = append(s.recordingOrder, rec)
	ss.recordings = append(ss.recordings, rec)
	s.after(s.cfg.RecordingStartDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if rec.Status != recStarting {
			return
		}
		t := s.now()
		rec.Status, rec.StartedAt, rec.UpdatedAt = recRunning, &t, t
		s.emit(rm, "beam.started.success", s.beamData(rm, ss, rec))
	})
	return rec
}

func (s *Server) beamData(rm *room, ss *session, rec *recording) map[string]any {
	d := s.roomData(rm, ss)
	d["beam_id"] = rec.ID
	d["job_id"] = rec.ID
	d["recording_id"] = rec.ID
	d["recording_enabled"] = true
	d["meeting_url"] = rec.MeetingURL
	d["max_width"] = rec.Width
	d["max_height"] = rec.Height
	d["created_at"] = utc(rec.CreatedAt)
	if rec.StartedAt != nil {
		d["started_at"] = utc(*rec.StartedAt)
		d["start_delay"] = seconds(rec.StartedAt.Sub(rec.CreatedAt))
	}
	if rec.StoppedAt != nil {
		d["stopped_at"] = utc(*rec.StoppedAt)
	}
	return d
}

func (rec *recording) durationSeconds() int64 {
	if rec.StartedAt == nil || rec.StoppedAt == nil {
		return 0
	}
	return seconds(rec.StoppedAt.Sub(*rec.StartedAt))
}

// stopRecording stops an active recording. A recording stopped before it
// ever ran produced no media: it fails with BEAM_STOPPED instead of
// pretending to have a file. Called with s.mu held.
func (s *Server) stopRecording(rm *room, rec *recording, reason, stoppedBy string) {
	ss := s.sessions[rec.SessionID]
	now := s.now()
	if rec.Status == recStarting {
		rec.StoppedAt, rec.StopReason, rec.StoppedBy = &now, reason, stoppedBy
		s.failRecording(rm, ss, rec, beamStopped, "recording stopped before it started")
		return
	}
	if rec.Status != recRunning {
		return
	}
	rec.Status, rec.StoppedAt, rec.UpdatedAt, rec.StopReason, rec.StoppedBy = recStopping, &now, now, reason, stoppedBy
	data := s.beamData(rm, ss, rec)
	data["reason"] = reason
	data["duration"] = rec.durationSeconds()
	s.emit(rm, "beam.stopped.success", data)
	half := s.cfg.RecordingReadyDelay / 2
	s.after(half, func() {
		s.mu.Lock()
		if rec.Status == recStopping {
			rec.Status, rec.UpdatedAt = recPostProcessing, s.now()
		}
		s.mu.Unlock()
		s.after(s.cfg.RecordingReadyDelay-half, func() { s.finishRecording(rm, ss, rec) })
	})
}

func (s *Server) failRecording(rm *room, ss *session, rec *recording, errorType, message string) {
	now := s.now()
	rec.Status, rec.ErrorType, rec.UpdatedAt = recFailed, errorType, now
	data := s.beamData(rm, ss, rec)
	data["error_type"] = errorType
	data["error_message"] = message
	data["error_code"] = 0
	s.emit(rm, "beam.failure", data)
}

// recordingLocation is where the file goes: the template's upload location
// if it has one, else the configured bucket and prefix.
func (s *Server) recordingLocation(rm *room, rec *recording) (bucket, key string) {
	bucket, prefix := s.cfg.Bucket, s.cfg.Prefix
	if t := s.templates[rm.TemplateID]; t != nil {
		if b, p := t.uploadLocation(); b != "" {
			bucket, prefix = b, p
		}
	}
	stopped := s.now()
	if rec.StoppedAt != nil {
		stopped = *rec.StoppedAt
	}
	name := "Rec-" + rm.ID + "-" + strconv.FormatInt(stopped.UnixMilli(), 10) + ".mp4"
	return bucket, path.Join(prefix, "beam", rm.ID, stopped.UTC().Format("20060102"), name)
}

// finishRecording uploads the file and announces the outcome. The upload
// runs without the lock.
func (s *Server) finishRecording(rm *room, ss *session, rec *recording) {
	s.mu.Lock()
	if rec.Status != recPostProcessing {
		s.mu.Unlock()
		return
	}
	f := s.currentFaults()
	if hit(f.Seed, "recording failure", rec.sessionSeq, f.RecordingFailure) {
		s.failRecording(rm, ss, rec, beamInternalError, "injected recording failure")
		s.mu.Unlock()
		return
	}
	if s.cfg.Storage == nil {
		s.failRecording(rm, ss, rec, beamUploadError, "no recording storage configured")
		s.mu.Unlock()
		return
	}
	bucket, key := s.recordingLocation(rm, rec)
	duration := rec.durationSeconds()
	body := recordingFile(rec.ID, duration)
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	err := s.cfg.Storage.PutObject(ctx, bucket, key, body, recordingContentType)
	cancel()

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.log.Warn("hmssim: recording upload failed", "recording_id", rec.ID, "bucket", bucket, "err", err)
		s.failRecording(rm, ss, rec, beamUploadError, "upload to storage failed")
		return
	}
	now := s.now()
	a := &asset{
		ID: newObjectID(), Type: "room-composite", Status: recCompleted, Bucket: bucket, Key: key,
		Size: int64(len(body)), Duration: duration, CreatedAt: now,
	}
	rec.asset, rec.Status, rec.UpdatedAt = a, recCompleted, now
	s.assets[a.ID] = rec
	data := s.beamData(rm, ss, rec)
	data["duration"] = duration
	data["size"] = a.Size
	data["recording_path"] = a.path()
	data["recording_presigned_url"] = s.presign(a, time.Hour)
	data["chat_recording_path"] = ""
	data["peer_id"] = ""
	s.emit(rm, "beam.recording.success", data)
}

// presign returns a download URL when the store can make one; otherwise the
// s3:// path, which the reference allows. Called with s.mu held: presigning
// is a local computation for S3 stores whose region is known.
func (s *Server) presign(a *asset, ttl time.Duration) string {
	if p, ok := s.cfg.Storage.(presigner); ok {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		defer cancel()
		if u, err := p.PresignGet(ctx, a.Bucket, a.Key, ttl); err == nil {
			return u
		}
	}
	return a.path()
}

// startRecording starts a room composite recording of the active session.
// Undocumented cases: with no session it is a 400 (the beam has nobody to
// record); with one already starting or running a 409.
func (s *Server) startRecording(r *http.Request) (any, error) {
	var req recordingRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return s.inRoom(r, func(rm *room) (any, error) {
		ss := rm.active
		if ss == nil {
			return nil, errorf(http.StatusBadRequest, "room is not active", "no active session in room "+rm.ID)
		}
		for _, rec := range ss.recordings {
			if rec.active() {
				return nil, errorf(http.StatusConflict, "recording already running", "recording "+rec.ID)
			}
		}
		rec := s.createRecording(rm, ss, req)
		return s.recordingView(rec), nil
	})
}

// stopRoomRecordings stops every active recording of the room and answers
// with them as a list page.
func (s *Server) stopRoomRecordings(r *http.Request) (any, error) {
	return s.inRoom(r, func(rm *room) (any, error) {
		var stopped []recordingJSON
		for _, rec := range s.recordingOrder {
			if rec.RoomID == rm.ID && rec.active() {
				s.stopRecording(rm, rec, beamStopClientRequest, "")
				stopped = append(stopped, s.recordingView(rec))
			}
		}
		if len(stopped) == 0 {
			return nil, errorf(http.StatusNotFound, "no running recording", "room "+rm.ID)
		}
		return page[recordingJSON]{Limit: len(stopped), Data: stopped, Last: stopped[len(stopped)-1].ID}, nil
	})
}

func (s *Server) stopRecordingByID(r *http.Request) (any, error) {
	return s.inRecording(r, func(rec *recording) (any, error) {
		if !rec.active() {
			return nil, errorf(http.StatusBadRequest, "recording is not running", "status "+rec.Status)
		}
		s.stopRecording(s.rooms[rec.RoomID], rec, beamStopClientRequest, "")
		return s.recordingView(rec), nil
	})
}

func (s *Server) getRecording(r *http.Request) (any, error) {
	return s.inRecording(r, func(rec *recording) (any, error) { return s.recordingView(rec), nil })
}

var recordingStatuses = map[string]bool{
	recStarting: true, recRunning: true, recStopping: true, recPostProcessing: true, recCompleted: true, recFailed: true,
}

func (s *Server) listRecordings(r *http.Request) (any, error) {
	q := r.URL.Query()
	roomID, sessionID, status := q.Get("room_id"), q.Get("session_id"), q.Get("status")
	if status != "" && !recordingStatuses[status] {
		return nil, errorf(http.StatusBadRequest, "invalid status", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []recordingJSON
	for _, rec := range s.recordingOrder {
		if roomID != "" && rec.RoomID != roomID || sessionID != "" && rec.SessionID != sessionID ||
			status != "" && rec.Status != status {
			continue
		}
		items = append(items, s.recordingView(rec))
	}
	return paginate(r, items, func(v recordingJSON) string { return v.ID })
}

// assetByID is the recording whose asset has the id.
func (s *Server) assetByID(id string) (*recording, error) {
	rec := s.assets[id]
	if rec == nil || rec.asset == nil {
		return nil, errorf(http.StatusNotFound, "recording asset not found", "asset_id "+id)
	}
	return rec, nil
}

func (s *Server) inAsset(r *http.Request, f func(*recording) (any, error)) (any, error) {
	return locked(s, r, "asset_id", s.assetByID, f)
}

func (s *Server) getAsset(r *http.Request) (any, error) {
	return s.inAsset(r, func(rec *recording) (any, error) { return s.assetView(rec, rec.asset), nil })
}

// presignAsset answers {id, path, url, expiry}; presign_duration is in
// seconds (default 3600, at most 7 days as S3 allows).
func (s *Server) presignAsset(r *http.Request) (any, error) {
	ttl := time.Hour
	if v := r.URL.Query().Get("presign_duration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 7*24*3600 {
			return nil, errorf(http.StatusBadRequest, "invalid presign_duration", fmt.Sprintf("%q: seconds within 1..604800", v))
		}
		ttl = time.Duration(n) * time.Second
	}
	return s.inAsset(r, func(rec *recording) (any, error) {
		a := rec.asset
		return map[string]any{
			"id": a.ID, "path": a.path(), "url": s.presign(a, ttl),
			"expiry": int64(ttl.Seconds()),
		}, nil
	})
}
