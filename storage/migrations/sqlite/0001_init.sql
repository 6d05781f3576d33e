-- Yunke schema, version 1 (SQLite). Times are unix milliseconds (BIGINT);
-- the Postgres twin of this file keeps the same tables, columns and index names.

CREATE TABLE districts (
    id          INTEGER PRIMARY KEY,
    code        TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    CONSTRAINT districts_code_key UNIQUE (code)
);

CREATE TABLE schools (
    id          INTEGER PRIMARY KEY,
    district_id BIGINT  NOT NULL REFERENCES districts (id),
    code        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    search      TEXT    NOT NULL DEFAULT '', -- lower(code \n name), for substring search
    version     BIGINT  NOT NULL DEFAULT 1,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    CONSTRAINT schools_code_key UNIQUE (code)
);
CREATE INDEX schools_district_idx ON schools (district_id, id);

CREATE TABLE subjects (
    id      INTEGER PRIMARY KEY,
    code    TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    name_en TEXT    NOT NULL DEFAULT '',
    sort    INTEGER NOT NULL DEFAULT 0,
    active  INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT subjects_code_key UNIQUE (code)
);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT    NOT NULL,
    username_key         TEXT    NOT NULL, -- lower(username): usernames are unique case-insensitively
    name                 TEXT    NOT NULL,
    district_id          BIGINT  REFERENCES districts (id), -- NULL only for system admins
    school_id            BIGINT  REFERENCES schools (id),   -- NULL for district-level staff
    active               INTEGER NOT NULL DEFAULT 1,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    password_hash        TEXT    NOT NULL DEFAULT '',
    student_no           TEXT    NOT NULL DEFAULT '',
    staff_no             TEXT    NOT NULL DEFAULT '',
    grade                INTEGER NOT NULL DEFAULT 0,
    class                TEXT    NOT NULL DEFAULT '',
    trainee              INTEGER NOT NULL DEFAULT 0,
    expert_district      INTEGER NOT NULL DEFAULT 0, -- expert scope: the whole district
    search               TEXT    NOT NULL DEFAULT '',    -- lower(username \n name \n staff_no \n student_no)
    version              BIGINT  NOT NULL DEFAULT 1,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (username_key);
CREATE UNIQUE INDEX users_student_no_key ON users (student_no) WHERE student_no <> '';
CREATE UNIQUE INDEX users_staff_no_key ON users (staff_no) WHERE staff_no <> '';
CREATE INDEX users_school_idx ON users (school_id, id);
CREATE INDEX users_district_idx ON users (district_id, id);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT   NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role_idx ON user_roles (role, user_id);

CREATE TABLE user_subjects (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject_id BIGINT NOT NULL REFERENCES subjects (id),
    PRIMARY KEY (user_id, subject_id)
);

CREATE TABLE user_grades (
    user_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grade   INTEGER NOT NULL,
    PRIMARY KEY (user_id, grade)
);

CREATE TABLE expert_schools (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    school_id BIGINT NOT NULL REFERENCES schools (id),
    PRIMARY KEY (user_id, school_id)
);

CREATE TABLE sessions (
    token_hash   TEXT   NOT NULL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip           TEXT   NOT NULL DEFAULT '',
    user_agent   TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE knowledge_points (
    id         INTEGER PRIMARY KEY,
    subject_id BIGINT  NOT NULL REFERENCES subjects (id),
    grade      INTEGER NOT NULL DEFAULT 0,
    parent_id  BIGINT  REFERENCES knowledge_points (id),
    code       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    sort       INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT knowledge_points_code_key UNIQUE (subject_id, code)
);
CREATE INDEX knowledge_points_grade_idx ON knowledge_points (subject_id, grade, sort);

CREATE TABLE school_targets (
    school_id              BIGINT  NOT NULL REFERENCES schools (id),
    year                   INTEGER NOT NULL,
    lessons_recorded       INTEGER NOT NULL DEFAULT 0,
    teachers_participating INTEGER NOT NULL DEFAULT 0,
    trainee_coverage_pct   INTEGER NOT NULL DEFAULT 0,
    version                BIGINT  NOT NULL DEFAULT 1,
    updated_at             BIGINT  NOT NULL,
    PRIMARY KEY (school_id, year)
);
CREATE INDEX school_targets_year_idx ON school_targets (year, school_id);

-- activity_log is append-only. It has no foreign keys: 0 means "none" in
-- every id column, and a log row must never stop the change it describes.
CREATE TABLE activity_log (
    id          INTEGER PRIMARY KEY,
    at_ms       BIGINT  NOT NULL,
    month       INTEGER NOT NULL, -- yyyymm in Asia/Shanghai
    actor_id    BIGINT  NOT NULL DEFAULT 0,
    action      TEXT    NOT NULL,
    district_id BIGINT  NOT NULL DEFAULT 0,
    school_id   BIGINT  NOT NULL DEFAULT 0,
    subject_id  BIGINT  NOT NULL DEFAULT 0,
    subject     TEXT    NOT NULL DEFAULT '',
    room_id     TEXT    NOT NULL DEFAULT '',
    session_id  TEXT    NOT NULL DEFAULT '',
    value       BIGINT  NOT NULL DEFAULT 0,
    detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX activity_log_district_idx ON activity_log (district_id, id);
CREATE INDEX activity_log_school_idx ON activity_log (school_id, id);

-- activity_monthly is the rollup statistics read: one row per key, kept in
-- step with activity_log by an upsert in the transaction that appends the row.
CREATE TABLE activity_monthly (
    district_id BIGINT  NOT NULL,
    month       INTEGER NOT NULL,
    school_id   BIGINT  NOT NULL,
    subject_id  BIGINT  NOT NULL,
    action      TEXT    NOT NULL,
    n           BIGINT  NOT NULL DEFAULT 0,
    total       BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (district_id, month, school_id, subject_id, action)
);
CREATE INDEX activity_monthly_month_idx ON activity_monthly (month);

INSERT INTO subjects (code, name, name_en, sort) VALUES
    ('chinese',      '语文',       'Chinese',         1),
    ('math',         '数学',       'Mathematics',     2),
    ('english',      '英语',       'English',         3),
    ('physics',      '物理',       'Physics',         4),
    ('chemistry',    '化学',       'Chemistry',       5),
    ('biology',      '生物',       'Biology',         6),
    ('history',      '历史',       'History',         7),
    ('geography',    '地理',       'Geography',       8),
    ('morality_law', '道德与法治', 'Morality and Law', 9);
