-- The global default notification addresses (DQOps' "Global incident notifications"): one row.
-- Per status, a connection whose address is NULL (not set) uses the default; '' on the
-- connection blocks the fallback. NULL here: no default.
CREATE TABLE default_notifications (
    id                      BIGINT PRIMARY KEY CHECK (id = 1),
    opened_addresses        TEXT,
    acknowledged_addresses  TEXT,
    resolved_addresses      TEXT,
    muted_addresses         TEXT,
    updated_at              BIGINT  NOT NULL
);

INSERT INTO default_notifications (id, updated_at) VALUES (1, 0);
