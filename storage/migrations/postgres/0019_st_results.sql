-- The automatic S-T result of each finished recording (docs/st-analysis.md),
-- stored once its speaking data is final so that statistics can count the
-- lessons per mode without analysing every recording again. Hand codes do
-- not change it; mode '' means no speech was heard (no speaking data).
CREATE TABLE recording_st (
    recording_id BIGINT  NOT NULL PRIMARY KEY REFERENCES recordings (id),
    interval_ms  BIGINT  NOT NULL, -- the sampling interval it was coded at
    samples      INTEGER NOT NULL,
    mode         TEXT    NOT NULL, -- lecture, practice, dialogue, mixed, or ''
    rt           DOUBLE PRECISION NOT NULL,
    ch           DOUBLE PRECISION NOT NULL,
    computed_at  BIGINT  NOT NULL
);
