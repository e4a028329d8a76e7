package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

const (
	codeDeliveryNotFound = "delivery_not_found"
	maxDeliveryLimit     = 100
)

// deliveryView is a webhook delivery as the API shows it: the endpoint
// without its query (it may hold a token) and the payload that was signed.
type deliveryView struct {
	store.Delivery
	Endpoint string          `json:"endpoint"`
	Payload  json.RawMessage `json:"payload"`
}

func viewDelivery(d store.Delivery) deliveryView {
	ep := d.Endpoint
	if u, err := url.Parse(ep); err == nil {
		ep = u.Scheme + "://" + u.Host + u.Path
	}
	return deliveryView{Delivery: d, Endpoint: ep, Payload: json.RawMessage(d.Payload)}
}

type deliveriesResponse struct {
	Deliveries []deliveryView `json:"deliveries"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// listDeliveries is the delivery log of the bank's webhooks, newest first:
// filters case_id, status (pending, delivered, failed), type (the message
// type), limit ≤ 100 and cursor.
func (s *Server) listDeliveries(c *gin.Context) {
	if !s.allow(c, kyc.RoleAdmin, kyc.RoleService) {
		return
	}
	q := c.Request.URL.Query()
	f := store.DeliveryFilter{
		CaseID: q.Get("case_id"), State: store.DeliveryState(q.Get("status")), EventType: q.Get("type"),
		Before: q.Get("cursor"), Limit: 50,
	}
	if f.CaseID != "" && uuid.Validate(f.CaseID) != nil {
		s.abort(c, invalidField("case_id", "%q is not a case id", truncate(f.CaseID, 40)))
		return
	}
	if f.State != "" && !f.State.Valid() {
		s.abort(c, invalidField("status", "%q is not a delivery status (pending, delivered, failed)", truncate(string(f.State), 40)))
		return
	}
	if f.EventType != "" && !slices.Contains(message.Types, f.EventType) {
		s.abort(c, invalidField("type", "%q is not a message type (%s, %s, %s)", truncate(f.EventType, 40), message.TypeStatusChanged, message.TypeCaptureAdded, message.TypeRecordingVerified))
		return
	}
	if f.Before != "" && uuid.Validate(f.Before) != nil {
		s.abort(c, invalidField("cursor", "is not a cursor this API returned; start again without it"))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDeliveryLimit {
			s.abort(c, invalidField("limit", "must be a whole number from 1 to %d", maxDeliveryLimit))
			return
		}
		f.Limit = n
	}
	ds, next, err := s.d.Store.ListDeliveries(c.Request.Context(), f)
	if err != nil {
		s.abort(c, unavailable("the database", err))
		return
	}
	out := deliveriesResponse{Deliveries: make([]deliveryView, len(ds)), NextCursor: next}
	for i, d := range ds {
		out.Deliveries[i] = viewDelivery(d)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// redeliver queues a delivery again now, with a fresh retry window,
// whatever its status: the bank lost a message, or it came back after the
// window passed. The message keeps its webhook-id, so a receiver that has
// it already ignores it.
func (s *Server) redeliver(c *gin.Context) {
	if !s.allow(c, kyc.RoleAdmin, kyc.RoleService) {
		return
	}
	id := c.Param("delivery_id")
	if uuid.Validate(id) != nil {
		s.abort(c, newError(http.StatusNotFound, codeDeliveryNotFound, "no delivery %q", truncate(id, 64)))
		return
	}
	d, err := s.d.Store.Redeliver(c.Request.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.abort(c, newError(http.StatusNotFound, codeDeliveryNotFound, "no delivery %s", id))
		return
	case err != nil:
		s.abort(c, unavailable("the database", err))
		return
	}
	if s.d.WakeOutbound != nil {
		s.d.WakeOutbound()
	}
	logAttrs(c, "delivery_id", d.ID, "case_id", d.CaseID, "webhook_id", d.WebhookID)
	c.JSON(http.StatusAccepted, viewDelivery(d))
}
