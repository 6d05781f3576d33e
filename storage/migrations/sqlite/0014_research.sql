-- Teaching research (网络教研, SQLite): research groups (a school's subject
-- group, or a district group when school_id is 0) and their members,
-- research activities with the recordings they study, and the discussion of
-- an activity, whose comments may pin to a moment of one of its recordings.
-- A deleted comment keeps its row (deleted_at, deleted_by); the activity
-- log says who deleted it.

CREATE TABLE research_groups (
    id          INTEGER PRIMARY KEY,
    district_id BIGINT  NOT NULL,
    school_id   BIGINT  NOT NULL DEFAULT 0, -- 0: a district group
    subject_id  BIGINT  NOT NULL DEFAULT 0,
    name        TEXT    NOT NULL,
    created_by  BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX research_groups_place ON research_groups (district_id, school_id);

CREATE TABLE research_members (
    group_id BIGINT NOT NULL REFERENCES research_groups (id),
    user_id  BIGINT NOT NULL REFERENCES users (id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX research_members_user ON research_members (user_id);

CREATE TABLE research_activities (
    id          INTEGER PRIMARY KEY,
    group_id    BIGINT  NOT NULL REFERENCES research_groups (id),
    topic       TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created_by  BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX research_activities_group ON research_activities (group_id, id);

CREATE TABLE research_activity_recordings (
    activity_id  BIGINT NOT NULL REFERENCES research_activities (id),
    recording_id BIGINT NOT NULL REFERENCES recordings (id),
    added_by     BIGINT NOT NULL DEFAULT 0,
    added_at     BIGINT NOT NULL,
    PRIMARY KEY (activity_id, recording_id)
);
CREATE INDEX research_activity_recordings_rec ON research_activity_recordings (recording_id);

CREATE TABLE research_comments (
    id           INTEGER PRIMARY KEY,
    activity_id  BIGINT  NOT NULL REFERENCES research_activities (id),
    author_id    BIGINT  NOT NULL REFERENCES users (id),
    text         TEXT    NOT NULL,
    recording_id BIGINT  NOT NULL DEFAULT 0, -- 0: not pinned to a moment
    start_ms     BIGINT  NOT NULL DEFAULT 0,
    end_ms       BIGINT  NOT NULL DEFAULT 0, -- 0: a moment, not a span
    created_at   BIGINT  NOT NULL,
    deleted_at   BIGINT  NOT NULL DEFAULT 0,
    deleted_by   BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX research_comments_activity ON research_comments (activity_id, id);
