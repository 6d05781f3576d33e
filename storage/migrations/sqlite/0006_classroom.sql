-- Classroom controls (SQLite): durable chat, polls and their answers, hand events, removals.

-- chat messages of a room, every one kept; a deleted one is hidden from
-- the room and kept for audit (deleted_at, deleted_by).
CREATE TABLE classroom_chat (
    id          INTEGER PRIMARY KEY,
    room        TEXT    NOT NULL,
    msg_id      TEXT    NOT NULL DEFAULT '', -- the sender's id of the message
    identity    TEXT    NOT NULL,
    user_id     BIGINT  NOT NULL DEFAULT 0,  -- 0: not an account's identity
    name        TEXT    NOT NULL DEFAULT '',
    message     TEXT    NOT NULL,
    sent_at     BIGINT  NOT NULL,
    deleted_at  BIGINT  NOT NULL DEFAULT 0,
    deleted_by  BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX classroom_chat_room_idx ON classroom_chat (room, id);

-- polls and quizzes: options and the correct choices are JSON arrays.
CREATE TABLE classroom_polls (
    id           INTEGER PRIMARY KEY,
    room         TEXT    NOT NULL,
    created_by   BIGINT  NOT NULL,
    question     TEXT    NOT NULL,
    options      TEXT    NOT NULL,
    multiple     BOOLEAN NOT NULL DEFAULT FALSE,
    correct      TEXT    NOT NULL DEFAULT '[]',
    time_limit_s INTEGER NOT NULL DEFAULT 0,  -- 0: until ended
    status       TEXT    NOT NULL,            -- draft, running, ended
    shown        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT  NOT NULL,
    started_at   BIGINT  NOT NULL DEFAULT 0,
    ends_at      BIGINT  NOT NULL DEFAULT 0,  -- 0: no deadline
    ended_at     BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX classroom_polls_room_idx ON classroom_polls (room, id);

-- one answer per account and poll, enforced here.
CREATE TABLE classroom_poll_answers (
    poll_id     BIGINT NOT NULL REFERENCES classroom_polls (id),
    user_id     BIGINT NOT NULL,
    identity    TEXT   NOT NULL,
    choices     TEXT   NOT NULL,
    answered_at BIGINT NOT NULL,
    PRIMARY KEY (poll_id, user_id)
);

-- hands raised and lowered, stage on and off, as they happened.
CREATE TABLE classroom_hand_events (
    id        INTEGER PRIMARY KEY,
    room      TEXT   NOT NULL,
    identity  TEXT   NOT NULL,
    user_id   BIGINT NOT NULL DEFAULT 0,
    kind      TEXT   NOT NULL, -- raised, lowered, stage_on, stage_off
    by_user   BIGINT NOT NULL DEFAULT 0,
    at        BIGINT NOT NULL
);
CREATE INDEX classroom_hand_events_room_idx ON classroom_hand_events (room, at);

-- identities removed from a room and kept out of it.
CREATE TABLE classroom_bans (
    room      TEXT   NOT NULL,
    identity  TEXT   NOT NULL,
    by_user   BIGINT NOT NULL DEFAULT 0,
    at        BIGINT NOT NULL,
    PRIMARY KEY (room, identity)
);
