package store

// migrations is the schema history. Never edit an applied migration: add a
// new one. Times are timestamptz on PostgreSQL and datetime (UTC text) on
// SQLite; booleans are integers on SQLite: a migration's sql names them by
// placeholder ({time}, {int64}, {bool}, {false}, {json}, {bytes}; see
// dialectTypes), so both databases run the same statements.
var migrations = []migration{
	{
		version: 1,
		name:    "cases",
		sql: []string{
			`CREATE TABLE cases (
				id text PRIMARY KEY,
				customer_reference text NOT NULL,
				customer_name text NOT NULL DEFAULT '',
				customer_email text NOT NULL DEFAULT '',
				customer_phone text NOT NULL DEFAULT '',
				status text NOT NULL,
				agent_id text NOT NULL DEFAULT '',
				attempt integer NOT NULL DEFAULT 0,
				overdue {bool} NOT NULL DEFAULT {false},
				required_captures text NOT NULL DEFAULT '[]',
				audit_rejections {bool} NOT NULL DEFAULT {false},
				"view" {json},
				version {int64} NOT NULL DEFAULT 0,
				created_by text NOT NULL DEFAULT '',
				idempotency_key text,
				request_hash text NOT NULL DEFAULT '',
				created_at {time} NOT NULL,
				updated_at {time} NOT NULL)`,
			// NULL keys are distinct, so cases created without a key never collide.
			`CREATE UNIQUE INDEX cases_idempotency_key_uq ON cases (created_by, idempotency_key)`,
			`CREATE INDEX cases_created_idx ON cases (created_at DESC, id DESC)`,
			`CREATE INDEX cases_status_created_idx ON cases (status, created_at DESC, id DESC)`,
			`CREATE INDEX cases_customer_reference_idx ON cases (customer_reference, created_at DESC, id DESC)`,
			`CREATE INDEX cases_agent_idx ON cases (agent_id, created_at DESC, id DESC)`,
		},
	},
	{
		version: 2,
		name:    "attempts and captures",
		sql: []string{
			`CREATE TABLE attempts (
				case_id text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
				number integer NOT NULL,
				room_id text NOT NULL DEFAULT '',
				room_name text NOT NULL DEFAULT '',
				status text NOT NULL DEFAULT '',
				started_at {time},
				ended_at {time},
				end_reason text NOT NULL DEFAULT '',
				PRIMARY KEY (case_id, number))`,
			`CREATE INDEX attempts_room_name_idx ON attempts (room_name)`,
			`CREATE TABLE captures (
				id text PRIMARY KEY,
				case_id text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
				attempt integer NOT NULL,
				kind text NOT NULL,
				object_key text NOT NULL,
				size {int64} NOT NULL,
				sha256 text NOT NULL,
				content_type text NOT NULL,
				created_by text NOT NULL,
				created_at {time} NOT NULL)`,
			`CREATE INDEX captures_case_idx ON captures (case_id, attempt)`,
		},
	},
	{
		// The log references its case without ON DELETE CASCADE: deleting a
		// case must not silently erase its audit trail. data is text, not
		// jsonb, because the hash covers its exact bytes and jsonb would
		// rewrite them. The case row keeps the chain head so that VerifyChain
		// can detect a truncated tail, which the chain alone cannot.
		version: 3,
		name:    "case event log",
		sql: []string{
			`CREATE TABLE case_events (
				case_id text NOT NULL REFERENCES cases (id),
				seq {int64} NOT NULL CHECK (seq >= 1),
				type text NOT NULL,
				actor_id text NOT NULL,
				actor_role text NOT NULL,
				at {time} NOT NULL,
				data text NOT NULL,
				prev_hash text NOT NULL,
				hash text NOT NULL,
				recorded_at {time} NOT NULL,
				PRIMARY KEY (case_id, seq))`,
			`ALTER TABLE cases ADD COLUMN events_head_seq {int64} NOT NULL DEFAULT 0`,
			`ALTER TABLE cases ADD COLUMN events_head_hash text NOT NULL DEFAULT ''`,
		},
	},
	{
		// No foreign key to cases: the inbox also holds events for rooms that
		// are not ours, which the dispatcher marks ignored.
		version: 4,
		name:    "webhook inbox",
		sql: []string{
			`CREATE TABLE webhook_inbox (
				event_id text PRIMARY KEY,
				type text NOT NULL,
				room_name text NOT NULL DEFAULT '',
				case_id text NOT NULL DEFAULT '',
				body {bytes} NOT NULL,
				body_hash text NOT NULL,
				state text NOT NULL,
				attempts integer NOT NULL DEFAULT 0,
				last_error text NOT NULL DEFAULT '',
				received_at {time} NOT NULL,
				updated_at {time} NOT NULL)`,
			`CREATE INDEX webhook_inbox_state_received_idx ON webhook_inbox (state, received_at, event_id)`,
		},
	},
	{
		version: 5,
		name:    "idempotency keys",
		sql: []string{
			`CREATE TABLE idempotency_keys (
				scope text NOT NULL,
				idempotency_key text NOT NULL,
				request_hash text NOT NULL,
				status integer NOT NULL,
				body {bytes} NOT NULL,
				created_at {time} NOT NULL,
				PRIMARY KEY (scope, idempotency_key))`,
			`CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)`,
		},
	},
	{
		// A case's pending inbox rows are delivered by one dispatcher at a
		// time, whichever API replica holds the case's lease (see
		// InboxClaim); a lease that is not renewed expires, so a crashed
		// replica's cases pass to the others.
		version: 6,
		name:    "webhook inbox leases",
		sql: []string{
			`CREATE TABLE webhook_inbox_leases (
				case_id text PRIMARY KEY,
				owner text NOT NULL,
				expires_at {time} NOT NULL)`,
			`CREATE INDEX webhook_inbox_pending_case_idx ON webhook_inbox (case_id, received_at, event_id) WHERE state = 'pending'`,
		},
	},
	{
		// The auditor of a case as a column, so that a list can show an
		// auditor only their cases in SQL (Viewer), and its page cursor
		// never points at a case they may not see.
		version: 7,
		name:    "cases audited_by",
		postgres: execSQL(
			`ALTER TABLE cases ADD COLUMN audited_by text NOT NULL DEFAULT ''`,
			`UPDATE cases SET audited_by = COALESCE("view"->'audit'->>'by', '') WHERE "view" IS NOT NULL`,
			`CREATE INDEX cases_audited_by_idx ON cases (audited_by, created_at DESC, id DESC)`,
		),
		sqlite: execSQL(
			`ALTER TABLE cases ADD COLUMN audited_by text NOT NULL DEFAULT ''`,
			`UPDATE cases SET audited_by = COALESCE(json_extract("view", '$.audit.by'), '') WHERE "view" IS NOT NULL`,
			`CREATE INDEX cases_audited_by_idx ON cases (audited_by, created_at DESC, id DESC)`,
		),
	},
	{
		version: 8,
		name:    "event run ids, unsaved cases",
		sql: []string{
			`ALTER TABLE case_events ADD COLUMN run_id text NOT NULL DEFAULT ''`,
			// The reconciler's query for creates that never started a workflow.
			`CREATE INDEX cases_unsaved_idx ON cases (created_at) WHERE version = 0`,
		},
	},
	{
		// Customer invite links (only the SHA-256 of the token is kept) and the
		// customer's evidence (consent, location) whose details stay out of
		// Temporal: the case event log holds their digests.
		version: 9,
		name:    "invites and customer evidence",
		sql: []string{
			`CREATE TABLE invites (
				id text PRIMARY KEY,
				case_id text NOT NULL,
				token_hash text NOT NULL,
				created_by text NOT NULL DEFAULT '',
				created_at {time} NOT NULL,
				expires_at {time} NOT NULL,
				revoked_at {time})`,
			`CREATE UNIQUE INDEX invites_token_hash_uq ON invites (token_hash)`,
			`CREATE INDEX invites_case_idx ON invites (case_id)`,
			`CREATE TABLE customer_evidence (
				id text PRIMARY KEY,
				case_id text NOT NULL,
				kind text NOT NULL,
				attempt integer NOT NULL DEFAULT 0,
				data text NOT NULL,
				sha256 text NOT NULL,
				created_at {time} NOT NULL)`,
			`CREATE INDEX customer_evidence_case_idx ON customer_evidence (case_id, kind, attempt)`,
		},
	},
	{
		// The outbox of webhooks to the bank: one row per message and
		// endpoint, written by AppendEvents in the transaction that appends
		// the event. No foreign key to cases, like the inbox: the delivery
		// log outlives anything done to a case row. ids are UUIDv7, so they
		// sort by creation.
		version: 10,
		name:    "webhook deliveries",
		sql: []string{
			`CREATE TABLE webhook_deliveries (
				id text PRIMARY KEY,
				webhook_id text NOT NULL,
				endpoint text NOT NULL,
				case_id text NOT NULL,
				seq {int64} NOT NULL,
				event_type text NOT NULL,
				payload text NOT NULL,
				state text NOT NULL,
				attempts integer NOT NULL DEFAULT 0,
				last_status integer NOT NULL DEFAULT 0,
				last_error text NOT NULL DEFAULT '',
				next_attempt_at {time} NOT NULL,
				retry_from {time} NOT NULL,
				lease_owner text NOT NULL DEFAULT '',
				lease_until {time},
				delivered_at {time},
				created_at {time} NOT NULL,
				updated_at {time} NOT NULL,
				UNIQUE (endpoint, webhook_id))`,
			`CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'`,
			`CREATE INDEX webhook_deliveries_case_idx ON webhook_deliveries (case_id, endpoint, seq)`,
		},
	},
}
