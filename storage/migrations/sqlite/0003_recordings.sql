-- Recordings (sqlite): classes and tutoring sessions recorded through the SFU,
-- their tracks, participants and speaking activity.
--
-- A review (to come) points at a recording by kind and id ('recording:<id>'
-- in activity rows) and at moments inside it by milliseconds from its
-- start (0 to duration_ms); a track by its id. Ids are never reused: a
-- deleted recording keeps its row (status 'deleted', its files removed),
-- so that what pointed at it still resolves.

CREATE TABLE recordings (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT    NOT NULL,            -- class, tutoring
    room                 TEXT    NOT NULL,
    title                TEXT    NOT NULL DEFAULT '',
    teacher_id           BIGINT  NOT NULL REFERENCES users (id),
    district_id          BIGINT  NOT NULL DEFAULT 0,
    school_id            BIGINT  NOT NULL DEFAULT 0,
    subject_id           BIGINT  NOT NULL DEFAULT 0,  -- 0: not known
    grade                INTEGER NOT NULL DEFAULT 0,  -- 0: not known
    tutoring_session_id  BIGINT  NOT NULL DEFAULT 0,
    started_at           BIGINT  NOT NULL,
    ended_at             BIGINT  NOT NULL DEFAULT 0,
    duration_ms          BIGINT  NOT NULL DEFAULT 0,
    status               TEXT    NOT NULL,            -- recording, ready, interrupted, failed, deleted
    status_reason        TEXT    NOT NULL DEFAULT '',
    activity_interval_ms INTEGER NOT NULL DEFAULT 500,
    download_kind        TEXT    NOT NULL DEFAULT 'camera', -- camera, composite
    download_status      TEXT    NOT NULL DEFAULT 'none',   -- none, queued, running, ready, failed
    download_progress    REAL    NOT NULL DEFAULT 0,
    download_key         TEXT    NOT NULL DEFAULT '',
    deleted_by           BIGINT  NOT NULL DEFAULT 0,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);
CREATE INDEX recordings_district_idx ON recordings (district_id, started_at);
CREATE INDEX recordings_school_idx ON recordings (school_id, started_at);
CREATE INDEX recordings_teacher_idx ON recordings (teacher_id, started_at);
CREATE INDEX recordings_status_idx ON recordings (status, id);

CREATE TABLE recording_points (
    recording_id       BIGINT NOT NULL REFERENCES recordings (id),
    knowledge_point_id BIGINT NOT NULL REFERENCES knowledge_points (id),
    PRIMARY KEY (recording_id, knowledge_point_id)
);

-- One file per recorded track. file is its name in the recording's
-- working directory while it is written; file_key its key in the media
-- store once the store has confirmed it (stored).
CREATE TABLE recording_tracks (
    id           INTEGER PRIMARY KEY,
    recording_id BIGINT  NOT NULL REFERENCES recordings (id),
    track_sid    TEXT    NOT NULL,
    participant  TEXT    NOT NULL, -- identity
    name         TEXT    NOT NULL DEFAULT '',
    role         TEXT    NOT NULL, -- teacher, student, assistant, observer
    source       TEXT    NOT NULL, -- camera, microphone, screen_share, screen_share_audio
    kind         TEXT    NOT NULL, -- video, audio
    codec        TEXT    NOT NULL,
    file         TEXT    NOT NULL,
    file_key     TEXT    NOT NULL DEFAULT '',
    stored       BOOLEAN NOT NULL DEFAULT FALSE,
    size_bytes   BIGINT  NOT NULL DEFAULT 0,
    offset_ms    BIGINT  NOT NULL DEFAULT 0,
    duration_ms  BIGINT  NOT NULL DEFAULT 0,
    frames       BIGINT  NOT NULL DEFAULT 0,
    drops        BIGINT  NOT NULL DEFAULT 0,
    status       TEXT    NOT NULL, -- recording, ready, damaged, failed
    reason       TEXT    NOT NULL DEFAULT '',
    CONSTRAINT recording_tracks_file UNIQUE (recording_id, file)
);
CREATE INDEX recording_tracks_recording_idx ON recording_tracks (recording_id, id);

CREATE TABLE recording_participants (
    recording_id BIGINT NOT NULL REFERENCES recordings (id),
    identity     TEXT   NOT NULL,
    user_id      BIGINT NOT NULL DEFAULT 0, -- 0: not an account
    name         TEXT   NOT NULL DEFAULT '',
    role         TEXT   NOT NULL,
    PRIMARY KEY (recording_id, identity)
);

-- Speaking activity: per participant, stretches of speech in ms from the
-- recording's start, at a resolution of activity_interval_ms (at most
-- 1000), with the mean level (0..1). The Student/Teacher analysis samples
-- these.
CREATE TABLE recording_speaking (
    recording_id BIGINT NOT NULL REFERENCES recordings (id),
    identity     TEXT   NOT NULL,
    role         TEXT   NOT NULL,
    start_ms     BIGINT NOT NULL,
    end_ms       BIGINT NOT NULL,
    level        REAL   NOT NULL DEFAULT 0,
    PRIMARY KEY (recording_id, identity, start_ms)
);
