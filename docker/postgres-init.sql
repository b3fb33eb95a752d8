-- The database roles of a production deployment (compose.yaml's db-roles step, run by the
-- PostgreSQL superuser with psql on every `docker compose up`; safe to run again).
--
--   wuma_owner  owns the database, its schema and every table, sequence and function in it;
--               only `manage.py migrate` connects as it.
--   wuma_app    what the web app, the Celery worker and beat connect as: LOGIN and nothing
--               else (not a superuser, creates no role or database, owns nothing), with
--               SELECT/INSERT/UPDATE/DELETE on the tables and USAGE on the sequences.
--
-- Why: the history and money rows (stock moves, receipts, scan events, uses, charge lines,
-- refunds) are guarded by triggers (inventory 0003/0006, billing 0009). A table's owner may
-- ALTER TABLE ... DISABLE TRIGGER and a superuser may SET session_replication_role =
-- replica; wuma_app may do neither, so the app cannot rewrite history even when misused.
--
-- psql -d wuma -f postgres-init.sql, with the passwords in the
-- environment (WUMA_OWNER_PASSWORD, WUMA_APP_PASSWORD); the role names may be changed
-- with -v owner=... -v app=... (the tests do, to leave the real names alone).

\set ON_ERROR_STOP on
\if :{?owner}
\else
\set owner wuma_owner
\endif
\if :{?app}
\else
\set app wuma_app
\endif
\getenv owner_password WUMA_OWNER_PASSWORD
\getenv app_password WUMA_APP_PASSWORD
\if :{?owner_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'WUMA_OWNER_PASSWORD is not set'; END $$;
\endif
\if :{?app_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'WUMA_APP_PASSWORD is not set'; END $$;
\endif

BEGIN;

SELECT format('CREATE ROLE %I', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I', :'app')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec

-- Stated in full each time, so a role changed by hand is put back.
ALTER ROLE :"owner" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'owner_password';
ALTER ROLE :"app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    NOINHERIT PASSWORD :'app_password';

-- The owner owns the database (and so, in PostgreSQL 15, the public schema: it may create
-- tables there); nobody else may create anything in it.
ALTER DATABASE :"DBNAME" OWNER TO :"owner";
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"app";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";

-- A deployment from before these roles (migrated as the superuser): its tables, sequences,
-- views and functions pass to the owner, so later migrations may alter them. A table's
-- own identity sequences follow their table.
SELECT format(
    CASE c.relkind
        WHEN 'v' THEN 'ALTER VIEW %I.%I OWNER TO %I'
        WHEN 'm' THEN 'ALTER MATERIALIZED VIEW %I.%I OWNER TO %I'
        WHEN 'S' THEN 'ALTER SEQUENCE %I.%I OWNER TO %I'
        ELSE 'ALTER TABLE %I.%I OWNER TO %I'
    END, n.nspname, c.relname, :'owner')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public'
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner')
  AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
\gexec
SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, :'owner')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public'
  AND p.prokind IN ('f', 'p')
  AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner')
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
\gexec

-- What the app may do: read and write rows (the triggers still refuse what they refuse),
-- on the tables there are and on those later migrations create. No TRUNCATE, REFERENCES
-- or TRIGGER.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app";

COMMIT;
