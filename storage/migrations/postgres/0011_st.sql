-- S-T analysis and micro-lesson review.
--
-- st_codes: an expert's hand coding of single samples of a recording's
-- S-T analysis. The automatic coding is computed from recording_speaking
-- each time and is not stored; a hand code is kept beside it, for the
-- sampling interval it was made at, with the automatic code it replaced.
CREATE TABLE st_codes (
    recording_id BIGINT  NOT NULL REFERENCES recordings (id),
    interval_ms  BIGINT  NOT NULL,
    sample       INTEGER NOT NULL, -- 0-based index of the window
    code         TEXT    NOT NULL, -- S or T
    auto_code    TEXT    NOT NULL, -- the automatic code when it was made
    coded_by     BIGINT  NOT NULL REFERENCES users (id),
    coded_at     BIGINT  NOT NULL,
    PRIMARY KEY (recording_id, interval_ms, sample)
);

-- The expert a micro-lesson is assigned to for review (0: none yet). A
-- micro-lesson goes submitted → in_review (assigned) → approved (waiting
-- for its knowledge points) → published, or back to returned.
ALTER TABLE microlessons ADD COLUMN reviewer_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX microlessons_reviewer_idx ON microlessons (reviewer_id, status);
