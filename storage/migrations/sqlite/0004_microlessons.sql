-- Micro-lessons (SQLite): short videos teachers upload, their knowledge
-- points, and the uploads still in progress.
--
-- A review (to come) points at a piece of media by kind and id — kind
-- 'microlesson' for a row of this table, 'recording' for a class
-- recording — and at moments inside it by milliseconds from its start,
-- from 0 to duration_ms. A deleted micro-lesson keeps its row (status
-- 'deleted', its file removed), so that what pointed at it still resolves.

CREATE TABLE microlessons (
    id            INTEGER PRIMARY KEY,
    teacher_id    BIGINT  NOT NULL REFERENCES users (id),
    district_id   BIGINT  NOT NULL DEFAULT 0,
    school_id     BIGINT  NOT NULL DEFAULT 0,
    subject_id    BIGINT  NOT NULL REFERENCES subjects (id),
    grade         INTEGER NOT NULL,
    title         TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    search        TEXT    NOT NULL DEFAULT '', -- lower(title), for substring search
    file_key      TEXT    NOT NULL,            -- the video in the media store
    size_bytes    BIGINT  NOT NULL,
    container     TEXT    NOT NULL,            -- mp4, webm
    video_codec   TEXT    NOT NULL,
    audio_codec   TEXT    NOT NULL DEFAULT '', -- '' when silent
    width         INTEGER NOT NULL DEFAULT 0,
    height        INTEGER NOT NULL DEFAULT 0,
    duration_ms   BIGINT  NOT NULL,
    status        TEXT    NOT NULL,            -- submitted, in_review, published, returned, deleted
    return_reason TEXT    NOT NULL DEFAULT '',
    status_by     BIGINT  NOT NULL DEFAULT 0,  -- who made the last change of status
    status_at     BIGINT  NOT NULL,
    published_at  BIGINT  NOT NULL DEFAULT 0,
    version       BIGINT  NOT NULL DEFAULT 1,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    CONSTRAINT microlessons_file_key UNIQUE (file_key)
);
CREATE INDEX microlessons_district_idx ON microlessons (district_id, status, status_at);
CREATE INDEX microlessons_school_idx ON microlessons (school_id, status, status_at);
CREATE INDEX microlessons_teacher_idx ON microlessons (teacher_id, id);

CREATE TABLE microlesson_points (
    microlesson_id     BIGINT NOT NULL REFERENCES microlessons (id),
    knowledge_point_id BIGINT NOT NULL REFERENCES knowledge_points (id),
    PRIMARY KEY (microlesson_id, knowledge_point_id)
);
CREATE INDEX microlesson_points_point_idx ON microlesson_points (knowledge_point_id, microlesson_id);

-- An upload in progress (the tus protocol): its bytes are in the staging
-- directory under its id; the row says whose it is, how large it will be
-- and when it expires.
CREATE TABLE microlesson_uploads (
    id         TEXT   NOT NULL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    size_bytes BIGINT NOT NULL,
    filename   TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX microlesson_uploads_user_idx ON microlesson_uploads (user_id);
CREATE INDEX microlesson_uploads_expires_idx ON microlesson_uploads (expires_at);
