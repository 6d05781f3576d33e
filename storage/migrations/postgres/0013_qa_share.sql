-- A district may share its questions: students and teachers of other
-- districts then read them (never answer them). Off until its
-- administrator chooses.
ALTER TABLE qa_district_settings ADD COLUMN shares_questions BOOLEAN NOT NULL DEFAULT FALSE;
