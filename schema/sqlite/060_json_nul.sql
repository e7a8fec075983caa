-- The PostgreSQL migration 060 makes its jsonb indexes accept events
-- carrying \u0000; SQLite's JSON functions already do.  Nothing to change.
SELECT 1;
