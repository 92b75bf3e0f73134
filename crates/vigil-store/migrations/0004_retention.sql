-- The retention job deletes by age: index the columns it selects on, so the hourly cleanup
-- reads only what it deletes instead of scanning the tables.
CREATE INDEX alarms_created ON alarms (created_at);
CREATE INDEX outbox_created ON outbox (created_at);
