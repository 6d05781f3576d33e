-- Interactive classes (SQLite): the timetable, who teaches and who is the
-- audience, every join and leave of the people in a class, and the
-- students' ratings.
--
-- A class belongs to a school (school_id) or, for a district-wide class,
-- to its district only (school_id 0). Its audience is one of:
--   classes  — the students of the school in the class's grade whose
--              class (users.class) is one of class_groups;
--   grade    — the students of the school in the class's grade;
--   school   — every student of the school;
--   district — every student of the district (premium classes, 精品课).
-- Times are Unix milliseconds; 0 is "not yet".

CREATE TABLE classes (
    id              INTEGER PRIMARY KEY,
    district_id     BIGINT  NOT NULL,
    school_id       BIGINT  NOT NULL DEFAULT 0,
    subject_id      BIGINT  NOT NULL REFERENCES subjects (id),
    grade           INTEGER NOT NULL,
    title           TEXT    NOT NULL,
    teacher_id      BIGINT  NOT NULL REFERENCES users (id),
    audience        TEXT    NOT NULL, -- classes, grade, school, district
    starts_at       BIGINT  NOT NULL,
    planned_minutes INTEGER NOT NULL,
    premium         BOOLEAN NOT NULL DEFAULT FALSE,
    recording       BOOLEAN NOT NULL DEFAULT TRUE,
    status          TEXT    NOT NULL, -- scheduled, live, ended, cancelled
    started_at      BIGINT  NOT NULL DEFAULT 0,
    ended_at        BIGINT  NOT NULL DEFAULT 0,
    end_reason      TEXT    NOT NULL DEFAULT '',
    node_url        TEXT    NOT NULL DEFAULT '', -- the node hosting the room
    series_id       BIGINT  NOT NULL DEFAULT 0,  -- weekly repeats share the first class's id
    version         BIGINT  NOT NULL DEFAULT 1,
    created_by      BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX classes_school_idx ON classes (school_id, starts_at);
CREATE INDEX classes_district_idx ON classes (district_id, starts_at);
CREATE INDEX classes_teacher_idx ON classes (teacher_id, starts_at);
CREATE INDEX classes_series_idx ON classes (series_id) WHERE series_id <> 0;
CREATE INDEX classes_live_idx ON classes (id) WHERE status = 'live';

CREATE TABLE class_assistants (
    class_id BIGINT NOT NULL REFERENCES classes (id),
    user_id  BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (class_id, user_id)
);
CREATE INDEX class_assistants_user_idx ON class_assistants (user_id, class_id);

CREATE TABLE class_points (
    class_id           BIGINT NOT NULL REFERENCES classes (id),
    knowledge_point_id BIGINT NOT NULL REFERENCES knowledge_points (id),
    PRIMARY KEY (class_id, knowledge_point_id)
);

-- The school classes (users.class, e.g. '3班') of an audience 'classes'.
CREATE TABLE class_groups (
    class_id   BIGINT NOT NULL REFERENCES classes (id),
    class_name TEXT   NOT NULL,
    PRIMARY KEY (class_id, class_name)
);

-- One row per stay in the room: written when the person joins (left_at 0)
-- and closed when they leave. seen_at is the last time the hosting node
-- knew them present (it is refreshed every few seconds): a row a crashed
-- node left open is closed at seen_at.
CREATE TABLE class_attendance (
    id        INTEGER PRIMARY KEY,
    class_id  BIGINT NOT NULL REFERENCES classes (id),
    user_id   BIGINT NOT NULL REFERENCES users (id),
    role      TEXT   NOT NULL, -- teacher, assistant, student, observer
    joined_at BIGINT NOT NULL,
    left_at   BIGINT NOT NULL DEFAULT 0,
    seen_at   BIGINT NOT NULL
);
CREATE INDEX class_attendance_class_idx ON class_attendance (class_id, user_id, joined_at);
CREATE INDEX class_attendance_open_idx ON class_attendance (class_id) WHERE left_at = 0;
CREATE INDEX class_attendance_user_idx ON class_attendance (user_id, class_id);

-- A rating carries its class's keys so satisfaction groups without joins.
CREATE TABLE class_ratings (
    class_id    BIGINT  NOT NULL REFERENCES classes (id),
    student_id  BIGINT  NOT NULL REFERENCES users (id),
    district_id BIGINT  NOT NULL DEFAULT 0,
    school_id   BIGINT  NOT NULL DEFAULT 0, -- the class's school, or its teacher's for a district class
    subject_id  BIGINT  NOT NULL DEFAULT 0,
    teacher_id  BIGINT  NOT NULL DEFAULT 0,
    premium     BOOLEAN NOT NULL DEFAULT FALSE,
    month       INTEGER NOT NULL, -- yyyymm (Asia/Shanghai) of the class
    score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment     TEXT    NOT NULL DEFAULT '',
    rated_at    BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (class_id, student_id)
);
CREATE INDEX class_ratings_month_idx ON class_ratings (district_id, month);
