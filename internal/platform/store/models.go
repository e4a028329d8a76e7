package store

import "time"

// The gorm models map rows; the tables themselves are created by the
// migrations in schema.go, so no gorm tag here defines schema.

type caseRow struct {
	ID                string `gorm:"primaryKey"`
	CustomerReference string
	CustomerName      string
	CustomerEmail     string
	CustomerPhone     string
	Status            string
	AgentID           string
	AuditedBy         string
	Attempt           int
	Overdue           bool
	RequiredCaptures  string // JSON array of capture kinds
	AuditRejections   bool
	View              *string `gorm:"column:view"` // nil until the first projection
	Version           int64
	CreatedBy         string
	IdempotencyKey    *string // nil when the creator sent no key
	RequestHash       string
	EventsHeadSeq     int64  `gorm:"->"` // written only by AppendEvents
	EventsHeadHash    string `gorm:"->"`
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func (caseRow) TableName() string { return "cases" }

type attemptRow struct {
	CaseID    string `gorm:"primaryKey"`
	Number    int    `gorm:"primaryKey"`
	RoomID    string
	RoomName  string
	Status    string
	StartedAt *time.Time
	EndedAt   *time.Time
	EndReason string
}

func (attemptRow) TableName() string { return "attempts" }

type captureRow struct {
	ID          string `gorm:"primaryKey"`
	CaseID      string
	Attempt     int
	Kind        string
	ObjectKey   string
	Size        int64
	SHA256      string `gorm:"column:sha256"`
	ContentType string
	CreatedBy   string
	CreatedAt   time.Time
}

func (captureRow) TableName() string { return "captures" }

type eventRow struct {
	CaseID     string `gorm:"primaryKey"`
	Seq        int64  `gorm:"primaryKey;autoIncrement:false"`
	Type       string
	ActorID    string
	ActorRole  string
	At         time.Time
	Data       string
	PrevHash   string
	Hash       string
	RecordedAt time.Time
	// RunID is the workflow run that saved the event: after an operator's
	// Reset, the events of the discarded run are told apart by it.
	RunID string
}

func (eventRow) TableName() string { return "case_events" }

type inboxRow struct {
	EventID    string `gorm:"primaryKey"`
	Type       string
	RoomName   string
	CaseID     string
	Body       []byte
	BodyHash   string
	State      string
	Attempts   int
	LastError  string
	ReceivedAt time.Time
	UpdatedAt  time.Time
}

func (inboxRow) TableName() string { return "webhook_inbox" }

type idempotencyRow struct {
	Scope          string `gorm:"primaryKey"`
	IdempotencyKey string `gorm:"primaryKey"`
	RequestHash    string
	Status         int
	Body           []byte
	CreatedAt      time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }
