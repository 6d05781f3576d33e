-- Lesson review (SQLite): the rubric library and its versions, evaluation
-- schemes, assignments of recordings and micro-lessons to experts, reviews
-- (drafts and submitted), teachers' reflections, calibration clips and
-- their results, and when a teacher last read their feedback.
--
-- A rubric version, a scheme and a review keep their structured content as
-- one JSON document (body): a rubric version never changes once written, a
-- scheme keeps the criteria it was built from, and a review is saved whole
-- by an idempotent PUT. The columns beside a body are those lists filter on.

CREATE TABLE review_rubrics (
    id          INTEGER PRIMARY KEY,
    district_id BIGINT  NOT NULL DEFAULT 0, -- 0: installation-wide
    code        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    purpose     TEXT    NOT NULL DEFAULT '',
    version     INTEGER NOT NULL, -- the current version
    builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (district_id, code)
);

CREATE TABLE review_rubric_versions (
    rubric_id  BIGINT  NOT NULL REFERENCES review_rubrics (id),
    version    INTEGER NOT NULL,
    name       TEXT    NOT NULL, -- the rubric's name at this version
    body       TEXT    NOT NULL,
    created_by BIGINT  NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (rubric_id, version)
);

CREATE TABLE review_schemes (
    id             INTEGER PRIMARY KEY,
    district_id    BIGINT  NOT NULL DEFAULT 0,
    name           TEXT    NOT NULL,
    purpose        TEXT    NOT NULL DEFAULT '', -- subject, school_kind, trainee, competition, general
    subject_id     BIGINT  NOT NULL DEFAULT 0,
    school_kind    TEXT    NOT NULL DEFAULT '',
    rubric_id      BIGINT  NOT NULL REFERENCES review_rubrics (id),
    rubric_version INTEGER NOT NULL,
    blind          BOOLEAN NOT NULL DEFAULT FALSE,
    threshold      REAL NOT NULL DEFAULT 0.6,
    body           TEXT    NOT NULL,
    created_by     BIGINT  NOT NULL DEFAULT 0,
    created_at     BIGINT  NOT NULL
);
CREATE INDEX review_schemes_district_idx ON review_schemes (district_id, id);

-- A calibration clip: a target the district scored as the master.
CREATE TABLE review_calibrations (
    id          INTEGER PRIMARY KEY,
    scheme_id   BIGINT  NOT NULL REFERENCES review_schemes (id),
    district_id BIGINT  NOT NULL DEFAULT 0,
    target      TEXT    NOT NULL,
    round       TEXT    NOT NULL DEFAULT '',
    body        TEXT    NOT NULL, -- the master's scores
    created_by  BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE review_assignments (
    id             INTEGER PRIMARY KEY,
    scheme_id      BIGINT  NOT NULL REFERENCES review_schemes (id),
    target         TEXT    NOT NULL, -- recording:<id> or microlesson:<id>
    round          TEXT    NOT NULL DEFAULT '',
    expert_id      BIGINT  NOT NULL REFERENCES users (id),
    teacher_id     BIGINT  NOT NULL DEFAULT 0,
    district_id    BIGINT  NOT NULL DEFAULT 0,
    school_id      BIGINT  NOT NULL DEFAULT 0,
    subject_id     BIGINT  NOT NULL DEFAULT 0,
    calibration_id BIGINT  NOT NULL DEFAULT 0,
    due_at         BIGINT  NOT NULL DEFAULT 0,
    status         TEXT    NOT NULL, -- assigned, draft, submitted
    assigned_by    BIGINT  NOT NULL DEFAULT 0,
    created_at     BIGINT  NOT NULL,
    UNIQUE (scheme_id, target, round, expert_id)
);
CREATE INDEX review_assignments_expert_idx ON review_assignments (expert_id, status, due_at);
CREATE INDEX review_assignments_target_idx ON review_assignments (target, scheme_id);
CREATE INDEX review_assignments_teacher_idx ON review_assignments (teacher_id, id);

CREATE TABLE reviews (
    assignment_id   BIGINT  NOT NULL PRIMARY KEY REFERENCES review_assignments (id),
    status          TEXT    NOT NULL, -- draft, submitted
    body            TEXT    NOT NULL, -- scores, notes, strengths, to improve
    total           REAL NOT NULL DEFAULT 0,
    version         BIGINT  NOT NULL DEFAULT 1,
    submitted_at    BIGINT  NOT NULL DEFAULT 0,
    reopened_reason TEXT    NOT NULL DEFAULT '',
    reopened_by     BIGINT  NOT NULL DEFAULT 0,
    teacher_rating  INTEGER NOT NULL DEFAULT 0, -- 1..5: how useful the teacher found it; 0: not rated
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE review_calibration_results (
    calibration_id BIGINT  NOT NULL REFERENCES review_calibrations (id),
    expert_id      BIGINT  NOT NULL REFERENCES users (id),
    agreement      REAL NOT NULL, -- percent of criteria agreeing with the master
    passed         BOOLEAN NOT NULL,
    at             BIGINT  NOT NULL,
    PRIMARY KEY (calibration_id, expert_id)
);

CREATE TABLE review_reflections (
    target     TEXT   NOT NULL PRIMARY KEY,
    teacher_id BIGINT NOT NULL REFERENCES users (id),
    text       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE review_feedback_seen (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id),
    seen_at BIGINT NOT NULL
);
