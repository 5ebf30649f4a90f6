-- What several instances on one database share (kept in step with PostgreSQL, where that is
-- what they do; SQLite serves one instance, and keeps the same shape).

-- Who holds an address's lease: only that worker frees it, so an address never has more in
-- flight than its limit, even when a lease outlived its worker's patience.
ALTER TABLE webhook_endpoints ADD COLUMN busy_owner TEXT;

-- Failed sign-ins per client address, so that the limit holds across instances.
CREATE TABLE sign_in_failures (
    id         INTEGER PRIMARY KEY,
    address    TEXT    NOT NULL,
    failed_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX sign_in_failures_by_address ON sign_in_failures (address, failed_at);
