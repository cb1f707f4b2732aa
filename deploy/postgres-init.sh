#!/bin/sh
# Runs once, when the database volume is new (the postgres image runs the scripts in
# /docker-entrypoint-initdb.d). The application logs in as docanalysis_runtime, a member of
# docanalysis_app: migration 0006 lets that role read and write every table but only append to
# audit_events and guard_verdicts, and row-level security (migration 0015) shows it only the
# tenants in its transaction's scope. Migrations run as the owner ($POSTGRES_USER), whom only the
# migrate service uses: the running application cannot disable the audit trail's triggers.
set -eu
psql -v ON_ERROR_STOP=1 -v pw="$DOCANALYSIS_DB_RUNTIME_PASSWORD" \
  --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
DO $$ BEGIN
  CREATE ROLE docanalysis_app NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
CREATE ROLE docanalysis_runtime LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD :'pw' IN ROLE docanalysis_app;
SQL
