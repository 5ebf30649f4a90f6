-- Filtered notifications (DQOps' filtered_notifications): on a connection, or global when
-- connection_id is NULL. The spec is the filter as JSON; names are unique per owner.
CREATE TABLE filtered_notifications (
    id             INTEGER PRIMARY KEY,     -- also the order filters of equal priority keep
    connection_id  INTEGER REFERENCES connections (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    spec           TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX filtered_notifications_by_name ON filtered_notifications (ifnull(connection_id, 0), name);

-- What routed each delivery: 'defaults', 'filter:<name>' or 'global filter:<name>'.
ALTER TABLE deliveries ADD COLUMN route TEXT;
