-- Incidents, the check results that joined them, and every status change (a transition).
-- Times are Unix milliseconds (UTC). Severities are DQOps' numbers: 0 valid … 3 fatal.

CREATE TABLE incidents (
    id                   TEXT    PRIMARY KEY,   -- a UUID
    connection_id        INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    incident_hash        INTEGER NOT NULL,
    schema_name          TEXT    NOT NULL,
    table_name           TEXT    NOT NULL,
    table_priority       INTEGER,
    data_group_name      TEXT,
    quality_dimension    TEXT,
    check_category       TEXT,
    check_type           TEXT    CHECK (check_type IN ('profiling', 'monitoring', 'partitioned')),
    check_name           TEXT,
    highest_severity     INTEGER NOT NULL CHECK (highest_severity BETWEEN 1 AND 3),
    minimum_severity     INTEGER NOT NULL CHECK (minimum_severity BETWEEN 1 AND 3),
    first_seen           INTEGER NOT NULL,
    last_seen            INTEGER NOT NULL,
    incident_until       INTEGER NOT NULL,
    failed_checks_count  INTEGER NOT NULL CHECK (failed_checks_count >= 1),
    issue_url            TEXT,
    status               TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved', 'muted')),
    muted_until          INTEGER,               -- the end of the mute window while muted
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

-- Finding the incident a new issue joins, and listing a connection's recent incidents.
CREATE INDEX incidents_by_hash ON incidents (connection_id, incident_hash, first_seen);
CREATE INDEX incidents_by_first_seen ON incidents (connection_id, first_seen);

CREATE TABLE check_results (
    id                 INTEGER PRIMARY KEY,
    connection_id      INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    result_id          TEXT,                    -- the sender's id; unique per connection
    schema_name        TEXT    NOT NULL,
    table_name         TEXT    NOT NULL,
    column_name        TEXT,
    check_name         TEXT    NOT NULL,
    check_category     TEXT    NOT NULL,
    check_type         TEXT    NOT NULL CHECK (check_type IN ('profiling', 'monitoring', 'partitioned')),
    quality_dimension  TEXT    NOT NULL,
    severity           INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 3),
    executed_at        INTEGER NOT NULL,
    data_group         TEXT,
    table_priority     INTEGER,
    time_period        INTEGER,
    actual_value       REAL,
    expected_value     REAL,
    message            TEXT,
    incident_id        TEXT    REFERENCES incidents (id) ON DELETE SET NULL,
    received_at        INTEGER NOT NULL,
    UNIQUE (connection_id, result_id)
) STRICT;

CREATE INDEX check_results_by_incident ON check_results (incident_id, executed_at);

-- Every transition: an incident opening (from_status NULL) or a real status change.
CREATE TABLE incident_status_changes (
    id           INTEGER PRIMARY KEY,
    incident_id  TEXT    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    from_status  TEXT    CHECK (from_status IN ('open', 'acknowledged', 'resolved', 'muted')),
    to_status    TEXT    NOT NULL CHECK (to_status IN ('open', 'acknowledged', 'resolved', 'muted')),
    changed_at   INTEGER NOT NULL,
    changed_by   TEXT    NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('checks', 'ui', 'api'))
) STRICT;

CREATE INDEX incident_status_changes_by_incident ON incident_status_changes (incident_id, id);
