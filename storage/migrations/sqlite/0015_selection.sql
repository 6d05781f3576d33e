-- Quality-lesson selection (优质课评选) and the shared library (精品课):
-- selection rounds of a district, the recordings schools nominate to them,
-- the lessons published to the library with their play counts, and each
-- school's consent to share its lessons in full (students included).

CREATE TABLE selection_rounds (
    id          INTEGER PRIMARY KEY,
    district_id BIGINT  NOT NULL,
    name        TEXT    NOT NULL,
    subject_id  BIGINT  NOT NULL DEFAULT 0, -- 0: any subject
    grade       INTEGER NOT NULL DEFAULT 0, -- 0: any grade
    scheme_id   BIGINT  NOT NULL REFERENCES review_schemes (id),
    experts     TEXT    NOT NULL,           -- JSON list of expert user ids
    per_school  INTEGER NOT NULL,           -- entries a school may nominate
    nominate_by BIGINT  NOT NULL,           -- nomination deadline (ms)
    review_by   BIGINT  NOT NULL,           -- review deadline (ms), the assignments' due date
    status      TEXT    NOT NULL,           -- open, published
    version     BIGINT  NOT NULL DEFAULT 1, -- bumped by every change of its entries
    created_by  BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    published_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX selection_rounds_district_idx ON selection_rounds (district_id, id);

CREATE TABLE selection_entries (
    id           INTEGER PRIMARY KEY,
    round_id     BIGINT  NOT NULL REFERENCES selection_rounds (id),
    recording_id BIGINT  NOT NULL REFERENCES recordings (id),
    school_id    BIGINT  NOT NULL,
    teacher_id   BIGINT  NOT NULL,
    selected     BOOLEAN NOT NULL DEFAULT FALSE,
    nominated_by BIGINT  NOT NULL DEFAULT 0,
    created_at   BIGINT  NOT NULL,
    UNIQUE (round_id, recording_id)
);
CREATE INDEX selection_entries_school_idx ON selection_entries (round_id, school_id);

CREATE TABLE library_lessons (
    id           INTEGER PRIMARY KEY,
    recording_id BIGINT  NOT NULL UNIQUE REFERENCES recordings (id),
    round_id     BIGINT  NOT NULL DEFAULT 0,
    district_id  BIGINT  NOT NULL,
    school_id    BIGINT  NOT NULL,
    teacher_id   BIGINT  NOT NULL,
    subject_id   BIGINT  NOT NULL DEFAULT 0,
    grade        INTEGER NOT NULL DEFAULT 0,
    title        TEXT    NOT NULL,
    score        REAL NOT NULL DEFAULT 0, -- mean weighted total in its round
    reviews      INTEGER NOT NULL DEFAULT 0,
    plays        BIGINT  NOT NULL DEFAULT 0,
    published_by BIGINT  NOT NULL DEFAULT 0,
    published_at BIGINT  NOT NULL
);
CREATE INDEX library_lessons_district_idx ON library_lessons (district_id, subject_id, grade);

-- One row per viewer, lesson and hour: a play counts once an hour.
CREATE TABLE library_plays (
    lesson_id BIGINT NOT NULL REFERENCES library_lessons (id),
    user_id   BIGINT NOT NULL,
    hour      BIGINT NOT NULL, -- Unix time / 3600
    PRIMARY KEY (lesson_id, user_id, hour)
);

-- A school's consent to show its lessons in full beyond the school.
CREATE TABLE school_consents (
    school_id   BIGINT  NOT NULL PRIMARY KEY REFERENCES schools (id),
    granted     BOOLEAN NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    recorded_by BIGINT  NOT NULL DEFAULT 0,
    recorded_at BIGINT  NOT NULL
);
