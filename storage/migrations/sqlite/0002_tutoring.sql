-- One-to-one tutoring (SQLite): requests, offers, sessions, ratings, notes.

CREATE TABLE tutoring_requests (
    id                 INTEGER PRIMARY KEY,
    student_id         BIGINT  NOT NULL REFERENCES users (id),
    district_id        BIGINT  NOT NULL DEFAULT 0,
    school_id          BIGINT  NOT NULL DEFAULT 0,
    subject_id         BIGINT  NOT NULL REFERENCES subjects (id),
    grade              INTEGER NOT NULL,
    knowledge_point_id BIGINT  NOT NULL DEFAULT 0,
    text               TEXT    NOT NULL DEFAULT '',
    has_image          BOOLEAN NOT NULL DEFAULT FALSE,
    status             TEXT    NOT NULL, -- waiting, offered, matched, cancelled
    session_id         BIGINT  NOT NULL DEFAULT 0,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);
CREATE INDEX tutoring_requests_open_idx ON tutoring_requests (status, created_at) WHERE status IN ('waiting', 'offered');
CREATE INDEX tutoring_requests_student_idx ON tutoring_requests (student_id, id);

CREATE TABLE tutoring_images (
    request_id BIGINT NOT NULL PRIMARY KEY REFERENCES tutoring_requests (id),
    type       TEXT   NOT NULL,
    data       BLOB   NOT NULL
);

CREATE TABLE tutoring_offers (
    id         INTEGER PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES tutoring_requests (id),
    teacher_id BIGINT NOT NULL REFERENCES users (id),
    outcome    TEXT   NOT NULL, -- pending, accepted, declined, lapsed, revoked
    offered_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    closed_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tutoring_offers_pending_idx ON tutoring_offers (teacher_id, request_id) WHERE outcome = 'pending';
CREATE INDEX tutoring_offers_request_idx ON tutoring_offers (request_id);

CREATE TABLE tutoring_sessions (
    id          INTEGER PRIMARY KEY,
    request_id  BIGINT  NOT NULL REFERENCES tutoring_requests (id),
    student_id  BIGINT  NOT NULL REFERENCES users (id),
    teacher_id  BIGINT  NOT NULL REFERENCES users (id),
    district_id BIGINT  NOT NULL DEFAULT 0,
    school_id   BIGINT  NOT NULL DEFAULT 0,
    subject_id  BIGINT  NOT NULL,
    grade       INTEGER NOT NULL,
    node_url    TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    started_at  BIGINT  NOT NULL DEFAULT 0,
    ended_at    BIGINT  NOT NULL DEFAULT 0,
    duration_s  INTEGER NOT NULL DEFAULT 0,
    end_reason  TEXT    NOT NULL DEFAULT '',
    CONSTRAINT tutoring_sessions_request_key UNIQUE (request_id)
);
CREATE INDEX tutoring_sessions_live_idx ON tutoring_sessions (id) WHERE ended_at = 0;
CREATE INDEX tutoring_sessions_student_idx ON tutoring_sessions (student_id, id);
CREATE INDEX tutoring_sessions_teacher_idx ON tutoring_sessions (teacher_id, id);

-- A rating carries its session's keys so satisfaction groups without joins.
CREATE TABLE tutoring_ratings (
    session_id  BIGINT  NOT NULL PRIMARY KEY REFERENCES tutoring_sessions (id),
    district_id BIGINT  NOT NULL DEFAULT 0,
    school_id   BIGINT  NOT NULL DEFAULT 0,
    subject_id  BIGINT  NOT NULL DEFAULT 0,
    teacher_id  BIGINT  NOT NULL DEFAULT 0,
    month       INTEGER NOT NULL, -- yyyymm (Asia/Shanghai) of the session
    score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment     TEXT    NOT NULL DEFAULT '',
    solved      BOOLEAN NOT NULL DEFAULT FALSE,
    rated_at    BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX tutoring_ratings_month_idx ON tutoring_ratings (district_id, month);

CREATE TABLE tutoring_notes (
    session_id BIGINT NOT NULL PRIMARY KEY REFERENCES tutoring_sessions (id),
    note       TEXT   NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

CREATE TABLE tutoring_note_points (
    session_id         BIGINT NOT NULL REFERENCES tutoring_sessions (id),
    knowledge_point_id BIGINT NOT NULL REFERENCES knowledge_points (id),
    PRIMARY KEY (session_id, knowledge_point_id)
);
