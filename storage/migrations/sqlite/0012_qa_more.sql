-- Q&A settings of a district, as its administrators chose them. A district
-- without a row takes the installation's defaults (qa.* in the config).
CREATE TABLE qa_district_settings (
    district_id     BIGINT  NOT NULL PRIMARY KEY REFERENCES districts (id) ON DELETE CASCADE,
    students_answer BOOLEAN NOT NULL,
    updated_by      BIGINT,
    updated_at      BIGINT  NOT NULL
);
