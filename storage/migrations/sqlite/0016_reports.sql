-- Statistics (docs/reports.md) count the rows of each domain table whose
-- time falls in a period, in a district or a school: these indexes give
-- the tables that had none a (place, time) path.
CREATE INDEX tutoring_requests_district_time_idx ON tutoring_requests (district_id, created_at);
CREATE INDEX tutoring_requests_school_time_idx ON tutoring_requests (school_id, created_at);
CREATE INDEX tutoring_sessions_district_time_idx ON tutoring_sessions (district_id, started_at);
CREATE INDEX tutoring_sessions_school_time_idx ON tutoring_sessions (school_id, started_at);
CREATE INDEX qa_questions_district_time_idx ON qa_questions (district_id, created_at);
CREATE INDEX qa_questions_school_time_idx ON qa_questions (school_id, created_at);
CREATE INDEX microlessons_district_time_idx ON microlessons (district_id, created_at);
CREATE INDEX microlessons_published_idx ON microlessons (district_id, published_at) WHERE published_at > 0;
-- Active users: the actors of a period's activity rows.
CREATE INDEX activity_log_at_idx ON activity_log (at_ms, actor_id);

-- A school's yearly target of lessons reviewed (measured by the report
-- indicator recording.lessons_reviewed).
ALTER TABLE school_targets ADD COLUMN lessons_reviewed INTEGER NOT NULL DEFAULT 0;
