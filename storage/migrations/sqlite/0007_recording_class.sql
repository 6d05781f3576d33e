-- A recording of a scheduled class links its class (NULL: a room a
-- teacher opened from the app, or a tutoring session).
ALTER TABLE recordings ADD COLUMN class_id BIGINT REFERENCES classes (id);
CREATE INDEX recordings_class_idx ON recordings (class_id, started_at);
