-- Serving a connection of many incidents quickly.

-- The incidents list's count (status and time window), from the index alone.
CREATE INDEX incidents_by_status ON incidents (connection_id, status, first_seen);

-- The list's default order (fewest failed checks first, newest first, then id): read in index
-- order, filtered by status and time in the index, stopping at the page's end.
CREATE INDEX incidents_by_failed_checks ON incidents (connection_id, failed_checks_count, first_seen DESC, id, status);

-- A connection's recent notifications without visiting each of its incidents.
ALTER TABLE deliveries ADD COLUMN connection_id INTEGER REFERENCES connections (id) ON DELETE CASCADE;
UPDATE deliveries SET connection_id = (SELECT i.connection_id FROM incidents i WHERE i.id = deliveries.incident_id);
CREATE INDEX deliveries_by_connection ON deliveries (connection_id, id);
