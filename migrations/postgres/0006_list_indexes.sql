-- Serving a connection of many incidents quickly. Both indexes carry the columns the list
-- filters on (time window, status), so a page is read in order from the index and stops at its
-- end; the count reads the newest-first index alone.

-- The UI's default order (newest first, then id), and the count.
CREATE INDEX incidents_by_newest ON incidents (connection_id, first_seen DESC, id, status);

-- The REST API's default order (fewest failed checks first, newest first, then id).
CREATE INDEX incidents_by_failed_checks ON incidents (connection_id, failed_checks_count, first_seen DESC, id, status);

-- A connection's recent notifications without visiting each of its incidents.
ALTER TABLE deliveries ADD COLUMN connection_id BIGINT  REFERENCES connections (id) ON DELETE CASCADE;
UPDATE deliveries SET connection_id = (SELECT i.connection_id FROM incidents i WHERE i.id = deliveries.incident_id);
CREATE INDEX deliveries_by_connection ON deliveries (connection_id, id);
