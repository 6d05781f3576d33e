-- The record of a class, completed (Postgres): each person's talk time, summed
-- from the audio levels of their microphone while the class runs and
-- written every second or so (a crash loses at most that). Hands, messages
-- and poll answers are counted from the classroom tables of the class's
-- room within its actual start and end.
CREATE TABLE class_talk (
    class_id   BIGINT NOT NULL REFERENCES classes (id),
    user_id    BIGINT NOT NULL REFERENCES users (id),
    talk_ms    BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (class_id, user_id)
);
