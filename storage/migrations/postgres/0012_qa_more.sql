-- Q&A settings of a district, as its administrators chose them. A district
-- without a row takes the installation's defaults (qa.* in the config).
CREATE TABLE qa_district_settings (
    district_id     BIGINT  NOT NULL PRIMARY KEY REFERENCES districts (id) ON DELETE CASCADE,
    students_answer BOOLEAN NOT NULL,
    updated_by      BIGINT,
    updated_at      BIGINT  NOT NULL
);

-- Search: every two-character piece (lower-cased) of a question's text and
-- of its answers' — an n-gram index that finds Chinese words without
-- segmenting them. A query of two characters or more narrows to the
-- questions holding all its pieces; a substring match then confirms.
CREATE TABLE qa_search_grams (
    district_id BIGINT NOT NULL,
    gram        TEXT   NOT NULL,
    question_id BIGINT NOT NULL REFERENCES qa_questions (id),
    PRIMARY KEY (district_id, gram, question_id)
);
INSERT INTO qa_search_grams (district_id, gram, question_id)
SELECT DISTINCT t.district_id, lower(substr(t.text, i, 2)), t.id
FROM (SELECT q.id, q.district_id, q.text FROM qa_questions q
      UNION ALL SELECT q.id, q.district_id, a.text FROM qa_answers a JOIN qa_questions q ON q.id = a.question_id) t,
     generate_series(1, char_length(t.text) - 1) AS i
ON CONFLICT DO NOTHING;
