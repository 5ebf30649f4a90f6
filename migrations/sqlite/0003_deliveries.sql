-- Notifications: one delivery per (transition, address), written in the transition's own
-- transaction, every attempt recorded, and per-address state (disabled, pacing).

CREATE TABLE webhook_endpoints (
    url              TEXT    PRIMARY KEY,
    disabled_at      INTEGER,               -- set when the receiver said the webhook is gone
    disabled_reason  TEXT,
    next_send_at     INTEGER NOT NULL DEFAULT 0, -- pacing: no request to this address before then
    busy_until       INTEGER NOT NULL DEFAULT 0  -- a request is in flight (leased) until then
) STRICT, WITHOUT ROWID;

CREATE TABLE deliveries (
    id                 INTEGER PRIMARY KEY,
    webhook_id         TEXT    NOT NULL UNIQUE,  -- the same on every attempt (header webhook-id)
    status_change_id   INTEGER NOT NULL REFERENCES incident_status_changes (id) ON DELETE CASCADE,
    incident_id        TEXT    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    url                TEXT    NOT NULL,
    format             TEXT    NOT NULL CHECK (format IN ('slack', 'dqops')),
    incident_status    TEXT    NOT NULL CHECK (incident_status IN ('open', 'acknowledged', 'resolved', 'muted')),
    payload            TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    lease_owner        TEXT,
    lease_until        INTEGER,
    last_error         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_pending_by_url ON deliveries (url, incident_id, id) WHERE state = 'pending';
CREATE INDEX deliveries_by_incident ON deliveries (incident_id, id);

CREATE TABLE delivery_attempts (
    id                INTEGER PRIMARY KEY,
    delivery_id       INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt           INTEGER NOT NULL,
    started_at        INTEGER NOT NULL,
    duration_ms       INTEGER NOT NULL,
    http_status       INTEGER,
    outcome           TEXT    NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    error             TEXT,                     -- why it failed, never the URL
    response_excerpt  TEXT                      -- at most 1 KB of what the receiver answered
) STRICT;

CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, attempt);
