-- Graft events: the transactional outbox of event triggers, the cron and one-off scheduled
-- events, and the invocation logs of every delivery attempt. Hasura keeps the same tables in
-- hdb_catalog (event_log, event_invocation_logs, hdb_cron_events, hdb_scheduled_events, ...);
-- the columns follow Hasura's so its queries and dashboards translate directly.
--
-- Only the extension reads or writes these tables: the capture trigger function is SECURITY
-- DEFINER, the background worker runs as the bootstrap superuser, and the metadata API reads
-- them as the store's owner. Payloads hold row data and session variables.

CREATE TABLE graphql.event_log (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    schema_name   text        NOT NULL,
    table_name    text        NOT NULL,
    trigger_name  text        NOT NULL,
    -- {"op", "data": {"old", "new"}, "session_variables", "trace_context"}; json keeps the
    -- row's column order, which is the order the webhook sees.
    payload       json        NOT NULL,
    delivered     boolean     NOT NULL DEFAULT false,
    error         boolean     NOT NULL DEFAULT false,
    tries         integer     NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Claimed for delivery at `locked` by the worker process `locked_by`. A claim whose process
    -- is gone is released at once (Hasura waits 30 minutes).
    locked        timestamptz,
    locked_by     integer,
    next_retry_at timestamptz,
    archived      boolean     NOT NULL DEFAULT false
);
-- The fetch order of the claim query, only over pending events.
CREATE INDEX event_log_fetch_events ON graphql.event_log
    (locked NULLS FIRST, next_retry_at NULLS FIRST, created_at)
    WHERE delivered = false AND error = false AND archived = false;
CREATE INDEX event_log_trigger_name ON graphql.event_log (trigger_name, created_at);
-- The worker's periodic cleanup of old history.
CREATE INDEX event_log_created_at ON graphql.event_log (created_at);

CREATE TABLE graphql.event_invocation_logs (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    trigger_name text,
    event_id     uuid        REFERENCES graphql.event_log (id) ON DELETE CASCADE,
    status       integer,
    request      json,
    response     json,
    duration_ms  double precision,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_invocation_logs_event_id ON graphql.event_invocation_logs (event_id);

-- Cron triggers live in the metadata; their upcoming occurrences are materialised here, one
-- row per (trigger, time), so a restart neither loses nor repeats one.
CREATE TABLE graphql.hdb_cron_events (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    trigger_name   text        NOT NULL,
    scheduled_time timestamptz NOT NULL,
    status         text        NOT NULL DEFAULT 'scheduled'
                   CHECK (status IN ('scheduled', 'locked', 'delivered', 'error', 'dead')),
    tries          integer     NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    next_retry_at  timestamptz,
    locked_by      integer,
    UNIQUE (trigger_name, scheduled_time)
);
CREATE INDEX hdb_cron_events_due ON graphql.hdb_cron_events (scheduled_time)
    WHERE status = 'scheduled';
-- Claims the worker checks for leftovers.
CREATE INDEX hdb_cron_events_locked ON graphql.hdb_cron_events (id) WHERE status = 'locked';

CREATE TABLE graphql.hdb_cron_event_invocation_logs (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id    uuid        REFERENCES graphql.hdb_cron_events (id) ON DELETE CASCADE,
    status      integer,
    request     json,
    response    json,
    duration_ms double precision,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hdb_cron_event_invocation_logs_event_id
    ON graphql.hdb_cron_event_invocation_logs (event_id);

CREATE TABLE graphql.hdb_scheduled_events (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_conf   json        NOT NULL,
    scheduled_time timestamptz NOT NULL,
    retry_conf     json,
    payload        json,
    header_conf    json,
    status         text        NOT NULL DEFAULT 'scheduled'
                   CHECK (status IN ('scheduled', 'locked', 'delivered', 'error', 'dead')),
    tries          integer     NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    next_retry_at  timestamptz,
    comment        text,
    locked_by      integer
);
CREATE INDEX hdb_scheduled_events_due ON graphql.hdb_scheduled_events (scheduled_time)
    WHERE status = 'scheduled';
CREATE INDEX hdb_scheduled_events_locked ON graphql.hdb_scheduled_events (id) WHERE status = 'locked';

CREATE TABLE graphql.hdb_scheduled_event_invocation_logs (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id    uuid        REFERENCES graphql.hdb_scheduled_events (id) ON DELETE CASCADE,
    status      integer,
    request     json,
    response    json,
    duration_ms double precision,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hdb_scheduled_event_invocation_logs_event_id
    ON graphql.hdb_scheduled_event_invocation_logs (event_id);

REVOKE ALL ON graphql.event_log, graphql.event_invocation_logs, graphql.hdb_cron_events,
    graphql.hdb_cron_event_invocation_logs, graphql.hdb_scheduled_events,
    graphql.hdb_scheduled_event_invocation_logs FROM PUBLIC;

-- pg_dump keeps undelivered events and their history.
SELECT pg_catalog.pg_extension_config_dump('graphql.event_log', '');
SELECT pg_catalog.pg_extension_config_dump('graphql.event_invocation_logs', '');
SELECT pg_catalog.pg_extension_config_dump('graphql.hdb_cron_events', '');
SELECT pg_catalog.pg_extension_config_dump('graphql.hdb_cron_event_invocation_logs', '');
SELECT pg_catalog.pg_extension_config_dump('graphql.hdb_scheduled_events', '');
SELECT pg_catalog.pg_extension_config_dump('graphql.hdb_scheduled_event_invocation_logs', '');

-- The row trigger behind every event trigger: graft_event_<name>_<OP> calls it with
--   TG_ARGV[0] the event trigger's name,
--   TG_ARGV[1] the columns whose change fires an UPDATE event: '*' or a JSON array,
--   TG_ARGV[2] the columns delivered in data.old/data.new: '*' or a JSON array.
-- It writes the event in the same transaction as the change: a rollback leaves no event.
-- session_variables is the GraphQL request's session (hasura.user, set by graphql.resolve),
-- null for plain SQL.
--
-- SECURITY INVOKER on purpose: row_to_json and to_jsonb may call code the table's owner
-- defined (a cast from their own type to json), which must run with the writer's rights, never
-- the extension owner's. graphql.record_event (src/events/capture.rs) does the privileged
-- part, one INSERT of the finished JSON. EXECUTE is not public: CREATE TRIGGER needs it,
-- firing does not.
CREATE FUNCTION graphql.capture_event() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    _old json;
    _new json;
    _payload_cols text[];
    _session text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF TG_ARGV[1] = '*' THEN
            IF NOT (to_jsonb(OLD) IS DISTINCT FROM to_jsonb(NEW)) THEN
                RETURN NULL;
            END IF;
        ELSIF NOT EXISTS (
            SELECT 1 FROM json_array_elements_text(TG_ARGV[1]::json) AS c(name)
            WHERE to_jsonb(OLD) -> c.name IS DISTINCT FROM to_jsonb(NEW) -> c.name
        ) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        _old := row_to_json(OLD);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        _new := row_to_json(NEW);
    END IF;
    IF TG_ARGV[2] <> '*' THEN
        _payload_cols := ARRAY(SELECT json_array_elements_text(TG_ARGV[2]::json));
        IF _old IS NOT NULL THEN
            _old := (SELECT coalesce(json_object_agg(e.key, e.value), '{}'::json)
                     FROM json_each(_old) AS e WHERE e.key = ANY (_payload_cols));
        END IF;
        IF _new IS NOT NULL THEN
            _new := (SELECT coalesce(json_object_agg(e.key, e.value), '{}'::json)
                     FROM json_each(_new) AS e WHERE e.key = ANY (_payload_cols));
        END IF;
    END IF;
    _session := nullif(current_setting('hasura.user', true), '');
    PERFORM graphql.record_event(TG_RELID, TG_OP, TG_ARGV[0],
            json_build_object('op', TG_OP,
                              'data', json_build_object('old', _old, 'new', _new),
                              'session_variables', _session::json,
                              'trace_context', NULL));
    RETURN NULL;
END
$$;
