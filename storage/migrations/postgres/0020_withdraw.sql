-- Editing and deleting research groups, withdrawing library lessons.
--
-- A research group gets a description and is deleted softly: the row, its
-- members, activities and discussion stay (deleted_at, deleted_by), and the
-- group is no longer served. A library lesson is withdrawn softly too: it
-- leaves the library at once and keeps its row, plays and last withdrawal
-- (who, when, why) until it is published again; the activity log keeps
-- every withdrawal and re-publication.

ALTER TABLE research_groups ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE research_groups ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE research_groups ADD COLUMN deleted_by BIGINT NOT NULL DEFAULT 0;

ALTER TABLE library_lessons ADD COLUMN withdrawn_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE library_lessons ADD COLUMN withdrawn_by BIGINT NOT NULL DEFAULT 0;
ALTER TABLE library_lessons ADD COLUMN withdraw_reason TEXT NOT NULL DEFAULT '';
