-- Connections (data sources) and their incident grouping and notification settings.
-- Enumerations are stored in DQOps' spelling; the CHECK constraints keep the file honest even
-- when edited by hand. Timestamps are Unix milliseconds (UTC).
CREATE TABLE connections (
    id                               INTEGER PRIMARY KEY,
    name                             TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    provider_type                    TEXT    NOT NULL,
    description                      TEXT    NOT NULL DEFAULT '',
    grouping_level                   TEXT    NOT NULL CHECK (grouping_level IN (
        'table', 'table_dimension', 'table_dimension_category',
        'table_dimension_category_type', 'table_dimension_category_name')),
    minimum_severity                 TEXT    NOT NULL CHECK (minimum_severity IN ('warning', 'error', 'fatal')),
    divide_by_data_groups            INTEGER NOT NULL CHECK (divide_by_data_groups IN (0, 1)),
    max_incident_length_days         INTEGER NOT NULL CHECK (max_incident_length_days BETWEEN 1 AND 3650),
    mute_for_days                    INTEGER NOT NULL CHECK (mute_for_days BETWEEN 1 AND 3650),
    incidents_disabled               INTEGER NOT NULL CHECK (incidents_disabled IN (0, 1)),
    -- NULL: not set (falls back to the global default); '': explicitly no address.
    incident_opened_addresses        TEXT,
    incident_acknowledged_addresses  TEXT,
    incident_resolved_addresses      TEXT,
    incident_muted_addresses         TEXT,
    created_at                       INTEGER NOT NULL,
    updated_at                       INTEGER NOT NULL
) STRICT;
