-- Q&A centre (SQLite): questions, their knowledge points and pictures,
-- answers, up-votes, comments and the asker's rating of the adopted answer.

CREATE TABLE qa_questions (
    id                  INTEGER PRIMARY KEY,
    author_id           BIGINT  NOT NULL REFERENCES users (id),
    district_id         BIGINT  NOT NULL DEFAULT 0,
    school_id           BIGINT  NOT NULL DEFAULT 0,
    subject_id          BIGINT  NOT NULL REFERENCES subjects (id),
    grade               INTEGER NOT NULL,
    text                TEXT    NOT NULL DEFAULT '',
    image_count         INTEGER NOT NULL DEFAULT 0,
    status              TEXT    NOT NULL, -- open, answered, adopted, escalated, deleted
    answer_count        INTEGER NOT NULL DEFAULT 0,
    adopted_answer_id   BIGINT  NOT NULL DEFAULT 0,
    adopted_at          BIGINT  NOT NULL DEFAULT 0,
    claimed_by          BIGINT  NOT NULL DEFAULT 0,
    claim_expires_at    BIGINT  NOT NULL DEFAULT 0,
    tutoring_request_id BIGINT  NOT NULL DEFAULT 0,
    first_answer_at     BIGINT  NOT NULL DEFAULT 0,
    hidden_reason       TEXT    NOT NULL DEFAULT '', -- non-empty: hidden by a moderator
    hidden_by           BIGINT  NOT NULL DEFAULT 0,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
CREATE INDEX qa_questions_district_idx ON qa_questions (district_id, subject_id, grade, id);
CREATE INDEX qa_questions_author_idx ON qa_questions (author_id, id);
CREATE INDEX qa_questions_open_idx ON qa_questions (district_id, id) WHERE status = 'open';

CREATE TABLE qa_question_points (
    question_id        BIGINT NOT NULL REFERENCES qa_questions (id),
    knowledge_point_id BIGINT NOT NULL REFERENCES knowledge_points (id),
    PRIMARY KEY (question_id, knowledge_point_id)
);

CREATE TABLE qa_answers (
    id          INTEGER PRIMARY KEY,
    question_id BIGINT  NOT NULL REFERENCES qa_questions (id),
    author_id   BIGINT  NOT NULL REFERENCES users (id),
    text        TEXT    NOT NULL DEFAULT '',
    image_count INTEGER NOT NULL DEFAULT 0,
    votes       INTEGER NOT NULL DEFAULT 0,
    hidden_reason TEXT  NOT NULL DEFAULT '',
    hidden_by   BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX qa_answers_question_idx ON qa_answers (question_id, id);
CREATE INDEX qa_answers_author_idx ON qa_answers (author_id, id);

-- A picture belongs to a question (answer_id 0) or to one of its answers.
CREATE TABLE qa_images (
    question_id BIGINT  NOT NULL REFERENCES qa_questions (id),
    answer_id   BIGINT  NOT NULL DEFAULT 0,
    n           INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    PRIMARY KEY (question_id, answer_id, n)
);

CREATE TABLE qa_votes (
    answer_id  BIGINT NOT NULL REFERENCES qa_answers (id),
    teacher_id BIGINT NOT NULL REFERENCES users (id),
    voted_at   BIGINT NOT NULL,
    PRIMARY KEY (answer_id, teacher_id)
);

CREATE TABLE qa_comments (
    id          INTEGER PRIMARY KEY,
    question_id BIGINT  NOT NULL REFERENCES qa_questions (id),
    answer_id   BIGINT  NOT NULL DEFAULT 0,
    author_id   BIGINT  NOT NULL REFERENCES users (id),
    text        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX qa_comments_question_idx ON qa_comments (question_id, id);

-- The rating carries the keys satisfaction groups by, as tutoring_ratings.
CREATE TABLE qa_ratings (
    question_id BIGINT  NOT NULL PRIMARY KEY REFERENCES qa_questions (id),
    answer_id   BIGINT  NOT NULL REFERENCES qa_answers (id),
    teacher_id  BIGINT  NOT NULL DEFAULT 0,
    district_id BIGINT  NOT NULL DEFAULT 0,
    school_id   BIGINT  NOT NULL DEFAULT 0,
    subject_id  BIGINT  NOT NULL DEFAULT 0,
    month       INTEGER NOT NULL, -- yyyymm (Asia/Shanghai) of the question
    score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    rated_at    BIGINT  NOT NULL
);
CREATE INDEX qa_ratings_month_idx ON qa_ratings (district_id, month);
