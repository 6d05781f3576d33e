-- Roll-ups of the statistics' slowest facts (docs/reports.md, "Cost"),
-- kept by triggers in the transaction that writes the domain rows, so
-- every writer keeps them exact. A day is an Asia/Shanghai calendar day
-- (UTC+8, no summer time): (ms + 28800000) / 86400000 days since
-- 1970-01-01. Rows whose counts fell back to 0 stay; readers skip them.

-- While a bulk load runs in a transaction (demo data) the triggers stand
-- aside and the load rebuilds the roll-ups once at its end.
CREATE TABLE report_rollup_state (
    bulk INTEGER NOT NULL
);
INSERT INTO report_rollup_state (bulk) VALUES (0);

-- Who acted in which week (unit 'w', from Monday), month ('m') or year
-- ('y'): exact distinct active users over any union of them (a term is
-- its months).
CREATE TABLE report_active_users (
    unit      TEXT    NOT NULL,
    start_day INTEGER NOT NULL,
    user_id   BIGINT  NOT NULL,
    PRIMARY KEY (unit, start_day, user_id)
);

-- The roll-ups are kept per district, day and school: what a dashboard
-- asks. A breakdown by teacher, subject, grade or knowledge point reads
-- the raw rows.

-- Tutoring waits (a session's creation less its request's), as a
-- histogram per day of the request: exact medians and percentiles, read
-- from one narrow index.
CREATE TABLE report_tutoring_waits (
    district_id BIGINT  NOT NULL,
    day         INTEGER NOT NULL,
    school_id   BIGINT  NOT NULL,
    wait_ms     BIGINT  NOT NULL,
    n           BIGINT  NOT NULL,
    PRIMARY KEY (district_id, day, school_id, wait_ms)
);

-- Started tutoring sessions and their ratings, per day the session started.
CREATE TABLE report_tutoring_daily (
    district_id  BIGINT  NOT NULL,
    day          INTEGER NOT NULL,
    school_id    BIGINT  NOT NULL,
    sessions     BIGINT  NOT NULL DEFAULT 0,
    seconds      BIGINT  NOT NULL DEFAULT 0,
    ratings      BIGINT  NOT NULL DEFAULT 0,
    ratings_good BIGINT  NOT NULL DEFAULT 0,
    rating_sum   BIGINT  NOT NULL DEFAULT 0,
    solved       BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (district_id, day, school_id)
);

-- Times to a first answer of the questions not deleted, per day asked.
CREATE TABLE report_qa_first_answers (
    district_id BIGINT  NOT NULL,
    day         INTEGER NOT NULL,
    school_id   BIGINT  NOT NULL,
    first_ms    BIGINT  NOT NULL,
    n           BIGINT  NOT NULL,
    PRIMARY KEY (district_id, day, school_id, first_ms)
);

-- The students present in the ended live classes that are not premium:
-- one (class, student) pair per unit of n, as a histogram of the pair's
-- milliseconds present, per day the class started. Attendance is the
-- number of pairs; the median minutes present is read from the histogram.
CREATE TABLE report_class_presence (
    district_id BIGINT  NOT NULL,
    day         INTEGER NOT NULL,
    school_id   BIGINT  NOT NULL,
    ms          BIGINT  NOT NULL,
    n           BIGINT  NOT NULL,
    PRIMARY KEY (district_id, day, school_id, ms)
);

-- Tutoring requests and Q&A per day asked: requests and those matched;
-- questions not deleted, those adopted, their answers and ratings.
CREATE TABLE report_requests_daily (
    district_id BIGINT  NOT NULL,
    day         INTEGER NOT NULL,
    school_id   BIGINT  NOT NULL,
    requests    BIGINT  NOT NULL,
    matched     BIGINT  NOT NULL,
    PRIMARY KEY (district_id, day, school_id)
);
CREATE TABLE report_qa_daily (
    district_id  BIGINT  NOT NULL,
    day          INTEGER NOT NULL,
    school_id    BIGINT  NOT NULL,
    questions    BIGINT  NOT NULL,
    adopted      BIGINT  NOT NULL,
    answers      BIGINT  NOT NULL,
    ratings      BIGINT  NOT NULL,
    ratings_good BIGINT  NOT NULL,
    rating_sum   BIGINT  NOT NULL,
    PRIMARY KEY (district_id, day, school_id)
);

-- Facts that stay on raw rows get the paths they lacked: micro-lesson
-- reviews among the activity rows, and classes by the time they started.
CREATE INDEX activity_log_microlesson_review_idx ON activity_log (at_ms, subject)
    WHERE action IN ('microlesson.approve', 'microlesson.return');
CREATE INDEX classes_district_started_idx ON classes (district_id, started_at);
CREATE INDEX classes_school_started_idx ON classes (school_id, started_at);

-- The day of a time t in ms is ((t + 28800000) / 86400000) throughout.

CREATE TRIGGER report_active_roll AFTER INSERT ON activity_log
WHEN NEW.actor_id <> 0 AND (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT OR IGNORE INTO report_active_users (unit, start_day, user_id) VALUES
        ('w', ((NEW.at_ms + 28800000) / 86400000) - (((NEW.at_ms + 28800000) / 86400000) + 3) % 7, NEW.actor_id),
        ('m', CAST(julianday(date(((NEW.at_ms + 28800000) / 86400000) * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER), NEW.actor_id),
        ('y', CAST(julianday(date(((NEW.at_ms + 28800000) / 86400000) * 86400, 'unixepoch', 'start of year')) - 2440587.5 AS INTEGER), NEW.actor_id);
END;

-- A session's wait: added when the session is created, taken back if it is deleted.
CREATE TRIGGER report_waits_insert AFTER INSERT ON tutoring_sessions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_tutoring_waits (district_id, day, school_id, wait_ms, n)
    SELECT r.district_id, ((r.created_at + 28800000) / 86400000), r.school_id, NEW.created_at - r.created_at, 1
    FROM tutoring_requests r WHERE r.id = NEW.request_id
    ON CONFLICT (district_id, day, school_id, wait_ms) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_waits_delete AFTER DELETE ON tutoring_sessions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_tutoring_waits (district_id, day, school_id, wait_ms, n)
    SELECT r.district_id, ((r.created_at + 28800000) / 86400000), r.school_id, OLD.created_at - r.created_at, -1
    FROM tutoring_requests r WHERE r.id = OLD.request_id
    ON CONFLICT (district_id, day, school_id, wait_ms) DO UPDATE SET n = n + excluded.n;
END;

-- A session moves (its start, its place, its length change): out of the
-- old day with its rating, into the new one.
CREATE TRIGGER report_sessions_insert AFTER INSERT ON tutoring_sessions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
    SELECT NEW.district_id, ((NEW.started_at + 28800000) / 86400000), NEW.school_id,
        1, 1 * NEW.duration_s, CASE WHEN r.session_id IS NULL THEN 0 ELSE 1 END,
        CASE WHEN r.score >= 4 THEN 1 ELSE 0 END, COALESCE(1 * r.score, 0), CASE WHEN r.solved THEN 1 ELSE 0 END
    FROM (SELECT 1) one LEFT JOIN tutoring_ratings r ON r.session_id = NEW.id
    WHERE NEW.started_at > 0
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, seconds = seconds + excluded.seconds,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good,
        rating_sum = rating_sum + excluded.rating_sum, solved = solved + excluded.solved;
END;
CREATE TRIGGER report_sessions_update
AFTER UPDATE OF started_at, duration_s, district_id, school_id ON tutoring_sessions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
    SELECT OLD.district_id, ((OLD.started_at + 28800000) / 86400000), OLD.school_id,
        -1, -1 * OLD.duration_s, CASE WHEN r.session_id IS NULL THEN 0 ELSE -1 END,
        CASE WHEN r.score >= 4 THEN -1 ELSE 0 END, COALESCE(-1 * r.score, 0), CASE WHEN r.solved THEN -1 ELSE 0 END
    FROM (SELECT 1) one LEFT JOIN tutoring_ratings r ON r.session_id = OLD.id
    WHERE OLD.started_at > 0
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, seconds = seconds + excluded.seconds,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good,
        rating_sum = rating_sum + excluded.rating_sum, solved = solved + excluded.solved;
    INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
    SELECT NEW.district_id, ((NEW.started_at + 28800000) / 86400000), NEW.school_id,
        1, 1 * NEW.duration_s, CASE WHEN r.session_id IS NULL THEN 0 ELSE 1 END,
        CASE WHEN r.score >= 4 THEN 1 ELSE 0 END, COALESCE(1 * r.score, 0), CASE WHEN r.solved THEN 1 ELSE 0 END
    FROM (SELECT 1) one LEFT JOIN tutoring_ratings r ON r.session_id = NEW.id
    WHERE NEW.started_at > 0
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, seconds = seconds + excluded.seconds,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good,
        rating_sum = rating_sum + excluded.rating_sum, solved = solved + excluded.solved;
END;
CREATE TRIGGER report_sessions_delete AFTER DELETE ON tutoring_sessions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
    SELECT OLD.district_id, ((OLD.started_at + 28800000) / 86400000), OLD.school_id,
        -1, -1 * OLD.duration_s, CASE WHEN r.session_id IS NULL THEN 0 ELSE -1 END,
        CASE WHEN r.score >= 4 THEN -1 ELSE 0 END, COALESCE(-1 * r.score, 0), CASE WHEN r.solved THEN -1 ELSE 0 END
    FROM (SELECT 1) one LEFT JOIN tutoring_ratings r ON r.session_id = OLD.id
    WHERE OLD.started_at > 0
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, seconds = seconds + excluded.seconds,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good,
        rating_sum = rating_sum + excluded.rating_sum, solved = solved + excluded.solved;
END;

CREATE TRIGGER report_ratings_insert AFTER INSERT ON tutoring_ratings WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
    SELECT s.district_id, ((s.started_at + 28800000) / 86400000), s.school_id,
        0, 0, 1, CASE WHEN NEW.score >= 4 THEN 1 ELSE 0 END, 1 * NEW.score, CASE WHEN NEW.solved THEN 1 ELSE 0 END
    FROM tutoring_sessions s WHERE s.id = NEW.session_id AND s.started_at > 0
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, seconds = seconds + excluded.seconds,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good,
        rating_sum = rating_sum + excluded.rating_sum, solved = solved + excluded.solved;
END;
CREATE TRIGGER report_ratings_update AFTER UPDATE OF score, solved, session_id ON tutoring_ratings WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
    SELECT s.district_id, ((s.started_at + 28800000) / 86400000), s.school_id,
        0, 0, -1, CASE WHEN OLD.score >= 4 THEN -1 ELSE 0 END, -1 * OLD.score, CASE WHEN OLD.solved THEN -1 ELSE 0 END
    FROM tutoring_sessions s WHERE s.id = OLD.session_id AND s.started_at > 0
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, seconds = seconds + excluded.seconds,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good,
        rating_sum = rating_sum + excluded.rating_sum, solved = solved + excluded.solved;
    INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
    SELECT s.district_id, ((s.started_at + 28800000) / 86400000), s.school_id,
        0, 0, 1, CASE WHEN NEW.score >= 4 THEN 1 ELSE 0 END, 1 * NEW.score, CASE WHEN NEW.solved THEN 1 ELSE 0 END
    FROM tutoring_sessions s WHERE s.id = NEW.session_id AND s.started_at > 0
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, seconds = seconds + excluded.seconds,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good,
        rating_sum = rating_sum + excluded.rating_sum, solved = solved + excluded.solved;
END;
CREATE TRIGGER report_ratings_delete AFTER DELETE ON tutoring_ratings WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
    SELECT s.district_id, ((s.started_at + 28800000) / 86400000), s.school_id,
        0, 0, -1, CASE WHEN OLD.score >= 4 THEN -1 ELSE 0 END, -1 * OLD.score, CASE WHEN OLD.solved THEN -1 ELSE 0 END
    FROM tutoring_sessions s WHERE s.id = OLD.session_id AND s.started_at > 0
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, seconds = seconds + excluded.seconds,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good,
        rating_sum = rating_sum + excluded.rating_sum, solved = solved + excluded.solved;
END;

CREATE TRIGGER report_first_answers_insert AFTER INSERT ON qa_questions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_first_answers (district_id, day, school_id, first_ms, n)
    SELECT NEW.district_id, ((NEW.created_at + 28800000) / 86400000), NEW.school_id, NEW.first_answer_at - NEW.created_at, 1
    WHERE NEW.status <> 'deleted' AND NEW.first_answer_at > 0
    ON CONFLICT (district_id, day, school_id, first_ms) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_first_answers_update
AFTER UPDATE OF status, first_answer_at, created_at, district_id, school_id ON qa_questions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_first_answers (district_id, day, school_id, first_ms, n)
    SELECT OLD.district_id, ((OLD.created_at + 28800000) / 86400000), OLD.school_id, OLD.first_answer_at - OLD.created_at, -1
    WHERE OLD.status <> 'deleted' AND OLD.first_answer_at > 0
    ON CONFLICT (district_id, day, school_id, first_ms) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_qa_first_answers (district_id, day, school_id, first_ms, n)
    SELECT NEW.district_id, ((NEW.created_at + 28800000) / 86400000), NEW.school_id, NEW.first_answer_at - NEW.created_at, 1
    WHERE NEW.status <> 'deleted' AND NEW.first_answer_at > 0
    ON CONFLICT (district_id, day, school_id, first_ms) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_first_answers_delete AFTER DELETE ON qa_questions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_first_answers (district_id, day, school_id, first_ms, n)
    SELECT OLD.district_id, ((OLD.created_at + 28800000) / 86400000), OLD.school_id, OLD.first_answer_at - OLD.created_at, -1
    WHERE OLD.status <> 'deleted' AND OLD.first_answer_at > 0
    ON CONFLICT (district_id, day, school_id, first_ms) DO UPDATE SET n = n + excluded.n;
END;

-- Presence in classes: BEFORE triggers, which read a pair's rows as they
-- are before this row changes, so several rows of one pair changed by one
-- statement add up.
CREATE TRIGGER report_presence_insert BEFORE INSERT ON class_attendance
WHEN NEW.role = 'student' AND (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total, -1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = NEW.class_id AND user_id = NEW.user_id AND role = 'student') x
    WHERE c.id = NEW.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total + (CASE WHEN NEW.left_at > NEW.joined_at THEN NEW.left_at - NEW.joined_at ELSE 0 END), 1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = NEW.class_id AND user_id = NEW.user_id AND role = 'student') x
    WHERE c.id = NEW.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt + 1 > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_presence_delete BEFORE DELETE ON class_attendance
WHEN OLD.role = 'student' AND (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total, -1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = OLD.class_id AND user_id = OLD.user_id AND role = 'student') x
    WHERE c.id = OLD.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total + -(CASE WHEN OLD.left_at > OLD.joined_at THEN OLD.left_at - OLD.joined_at ELSE 0 END), 1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = OLD.class_id AND user_id = OLD.user_id AND role = 'student') x
    WHERE c.id = OLD.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt + -1 > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_presence_update BEFORE UPDATE OF class_id, user_id, role, joined_at, left_at ON class_attendance
WHEN OLD.class_id = NEW.class_id AND OLD.user_id = NEW.user_id AND OLD.role = 'student' AND NEW.role = 'student' AND (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total, -1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = NEW.class_id AND user_id = NEW.user_id AND role = 'student') x
    WHERE c.id = NEW.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total + (CASE WHEN NEW.left_at > NEW.joined_at THEN NEW.left_at - NEW.joined_at ELSE 0 END) - (CASE WHEN OLD.left_at > OLD.joined_at THEN OLD.left_at - OLD.joined_at ELSE 0 END), 1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = NEW.class_id AND user_id = NEW.user_id AND role = 'student') x
    WHERE c.id = NEW.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt + 0 > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_presence_update_old BEFORE UPDATE OF class_id, user_id, role, joined_at, left_at ON class_attendance
WHEN NOT (OLD.class_id = NEW.class_id AND OLD.user_id = NEW.user_id AND OLD.role = 'student' AND NEW.role = 'student') AND OLD.role = 'student' AND (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total, -1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = OLD.class_id AND user_id = OLD.user_id AND role = 'student') x
    WHERE c.id = OLD.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total + -(CASE WHEN OLD.left_at > OLD.joined_at THEN OLD.left_at - OLD.joined_at ELSE 0 END), 1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = OLD.class_id AND user_id = OLD.user_id AND role = 'student') x
    WHERE c.id = OLD.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt + -1 > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_presence_update_new BEFORE UPDATE OF class_id, user_id, role, joined_at, left_at ON class_attendance
WHEN NOT (OLD.class_id = NEW.class_id AND OLD.user_id = NEW.user_id AND OLD.role = 'student' AND NEW.role = 'student') AND NEW.role = 'student' AND (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total, -1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = NEW.class_id AND user_id = NEW.user_id AND role = 'student') x
    WHERE c.id = NEW.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT c.district_id, ((c.started_at + 28800000) / 86400000), c.school_id, x.total + (CASE WHEN NEW.left_at > NEW.joined_at THEN NEW.left_at - NEW.joined_at ELSE 0 END), 1
    FROM classes c, (SELECT COUNT(*) AS cnt, COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) AS total
        FROM class_attendance WHERE class_id = NEW.class_id AND user_id = NEW.user_id AND role = 'student') x
    WHERE c.id = NEW.class_id AND c.status = 'ended' AND c.premium = FALSE AND x.cnt + 1 > 0
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
END;

-- A class ends (or changes its start, place or kind): its pairs leave the
-- old key and join the new one.
CREATE TRIGGER report_class_insert AFTER INSERT ON classes WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT NEW.district_id, ((NEW.started_at + 28800000) / 86400000), NEW.school_id, p.ms, 1 * COUNT(*)
    FROM (SELECT SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END) AS ms
          FROM class_attendance WHERE class_id = NEW.id AND role = 'student' GROUP BY user_id) p
    WHERE NEW.status = 'ended' AND NEW.premium = FALSE
    GROUP BY p.ms
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_class_update AFTER UPDATE OF status, premium, started_at, district_id, school_id ON classes WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT OLD.district_id, ((OLD.started_at + 28800000) / 86400000), OLD.school_id, p.ms, -1 * COUNT(*)
    FROM (SELECT SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END) AS ms
          FROM class_attendance WHERE class_id = OLD.id AND role = 'student' GROUP BY user_id) p
    WHERE OLD.status = 'ended' AND OLD.premium = FALSE
    GROUP BY p.ms
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT NEW.district_id, ((NEW.started_at + 28800000) / 86400000), NEW.school_id, p.ms, 1 * COUNT(*)
    FROM (SELECT SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END) AS ms
          FROM class_attendance WHERE class_id = NEW.id AND role = 'student' GROUP BY user_id) p
    WHERE NEW.status = 'ended' AND NEW.premium = FALSE
    GROUP BY p.ms
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER report_class_delete AFTER DELETE ON classes WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    SELECT OLD.district_id, ((OLD.started_at + 28800000) / 86400000), OLD.school_id, p.ms, -1 * COUNT(*)
    FROM (SELECT SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END) AS ms
          FROM class_attendance WHERE class_id = OLD.id AND role = 'student' GROUP BY user_id) p
    WHERE OLD.status = 'ended' AND OLD.premium = FALSE
    GROUP BY p.ms
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER report_requests_insert AFTER INSERT ON tutoring_requests WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_requests_daily (district_id, day, school_id, requests, matched)
    VALUES (NEW.district_id, ((NEW.created_at + 28800000) / 86400000), NEW.school_id, 1, CASE WHEN NEW.status = 'matched' THEN 1 ELSE 0 END)
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET requests = requests + excluded.requests, matched = matched + excluded.matched;
END;
CREATE TRIGGER report_requests_update AFTER UPDATE OF status, created_at, district_id, school_id ON tutoring_requests WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_requests_daily (district_id, day, school_id, requests, matched)
    VALUES (OLD.district_id, ((OLD.created_at + 28800000) / 86400000), OLD.school_id, -1, CASE WHEN OLD.status = 'matched' THEN -1 ELSE 0 END)
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET requests = requests + excluded.requests, matched = matched + excluded.matched;
    INSERT INTO report_requests_daily (district_id, day, school_id, requests, matched)
    VALUES (NEW.district_id, ((NEW.created_at + 28800000) / 86400000), NEW.school_id, 1, CASE WHEN NEW.status = 'matched' THEN 1 ELSE 0 END)
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET requests = requests + excluded.requests, matched = matched + excluded.matched;
END;
CREATE TRIGGER report_requests_delete AFTER DELETE ON tutoring_requests WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_requests_daily (district_id, day, school_id, requests, matched)
    VALUES (OLD.district_id, ((OLD.created_at + 28800000) / 86400000), OLD.school_id, -1, CASE WHEN OLD.status = 'matched' THEN -1 ELSE 0 END)
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET requests = requests + excluded.requests, matched = matched + excluded.matched;
END;

CREATE TRIGGER report_questions_insert AFTER INSERT ON qa_questions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT NEW.district_id, ((NEW.created_at + 28800000) / 86400000), NEW.school_id, 1, CASE WHEN NEW.adopted_answer_id <> 0 THEN 1 ELSE 0 END,
        1 * (SELECT COUNT(*) FROM qa_answers WHERE question_id = NEW.id),
        1 * (SELECT COUNT(*) FROM qa_ratings WHERE question_id = NEW.id),
        1 * (SELECT COUNT(*) FROM qa_ratings WHERE question_id = NEW.id AND score >= 4),
        1 * COALESCE((SELECT SUM(score) FROM qa_ratings WHERE question_id = NEW.id), 0)
    WHERE NEW.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
END;
CREATE TRIGGER report_questions_update AFTER UPDATE OF status, adopted_answer_id, created_at, district_id, school_id ON qa_questions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT OLD.district_id, ((OLD.created_at + 28800000) / 86400000), OLD.school_id, -1, CASE WHEN OLD.adopted_answer_id <> 0 THEN -1 ELSE 0 END,
        -1 * (SELECT COUNT(*) FROM qa_answers WHERE question_id = OLD.id),
        -1 * (SELECT COUNT(*) FROM qa_ratings WHERE question_id = OLD.id),
        -1 * (SELECT COUNT(*) FROM qa_ratings WHERE question_id = OLD.id AND score >= 4),
        -1 * COALESCE((SELECT SUM(score) FROM qa_ratings WHERE question_id = OLD.id), 0)
    WHERE OLD.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT NEW.district_id, ((NEW.created_at + 28800000) / 86400000), NEW.school_id, 1, CASE WHEN NEW.adopted_answer_id <> 0 THEN 1 ELSE 0 END,
        1 * (SELECT COUNT(*) FROM qa_answers WHERE question_id = NEW.id),
        1 * (SELECT COUNT(*) FROM qa_ratings WHERE question_id = NEW.id),
        1 * (SELECT COUNT(*) FROM qa_ratings WHERE question_id = NEW.id AND score >= 4),
        1 * COALESCE((SELECT SUM(score) FROM qa_ratings WHERE question_id = NEW.id), 0)
    WHERE NEW.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
END;
CREATE TRIGGER report_questions_delete AFTER DELETE ON qa_questions WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT OLD.district_id, ((OLD.created_at + 28800000) / 86400000), OLD.school_id, -1, CASE WHEN OLD.adopted_answer_id <> 0 THEN -1 ELSE 0 END,
        -1 * (SELECT COUNT(*) FROM qa_answers WHERE question_id = OLD.id),
        -1 * (SELECT COUNT(*) FROM qa_ratings WHERE question_id = OLD.id),
        -1 * (SELECT COUNT(*) FROM qa_ratings WHERE question_id = OLD.id AND score >= 4),
        -1 * COALESCE((SELECT SUM(score) FROM qa_ratings WHERE question_id = OLD.id), 0)
    WHERE OLD.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
END;

CREATE TRIGGER report_answers_insert AFTER INSERT ON qa_answers WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT q.district_id, ((q.created_at + 28800000) / 86400000), q.school_id, 0, 0, 1, 0, 0, 0
    FROM qa_questions q WHERE q.id = NEW.question_id AND q.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
END;
CREATE TRIGGER report_answers_update AFTER UPDATE OF question_id ON qa_answers WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT q.district_id, ((q.created_at + 28800000) / 86400000), q.school_id, 0, 0, -1, 0, 0, 0
    FROM qa_questions q WHERE q.id = OLD.question_id AND q.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT q.district_id, ((q.created_at + 28800000) / 86400000), q.school_id, 0, 0, 1, 0, 0, 0
    FROM qa_questions q WHERE q.id = NEW.question_id AND q.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
END;
CREATE TRIGGER report_answers_delete AFTER DELETE ON qa_answers WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT q.district_id, ((q.created_at + 28800000) / 86400000), q.school_id, 0, 0, -1, 0, 0, 0
    FROM qa_questions q WHERE q.id = OLD.question_id AND q.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
END;

CREATE TRIGGER report_qa_ratings_insert AFTER INSERT ON qa_ratings WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT q.district_id, ((q.created_at + 28800000) / 86400000), q.school_id, 0, 0, 0, 1, CASE WHEN NEW.score >= 4 THEN 1 ELSE 0 END, 1 * NEW.score
    FROM qa_questions q WHERE q.id = NEW.question_id AND q.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
END;
CREATE TRIGGER report_qa_ratings_update AFTER UPDATE OF question_id, score ON qa_ratings WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT q.district_id, ((q.created_at + 28800000) / 86400000), q.school_id, 0, 0, 0, -1, CASE WHEN OLD.score >= 4 THEN -1 ELSE 0 END, -1 * OLD.score
    FROM qa_questions q WHERE q.id = OLD.question_id AND q.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT q.district_id, ((q.created_at + 28800000) / 86400000), q.school_id, 0, 0, 0, 1, CASE WHEN NEW.score >= 4 THEN 1 ELSE 0 END, 1 * NEW.score
    FROM qa_questions q WHERE q.id = NEW.question_id AND q.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
END;
CREATE TRIGGER report_qa_ratings_delete AFTER DELETE ON qa_ratings WHEN (SELECT bulk FROM report_rollup_state) = 0
BEGIN
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT q.district_id, ((q.created_at + 28800000) / 86400000), q.school_id, 0, 0, 0, -1, CASE WHEN OLD.score >= 4 THEN -1 ELSE 0 END, -1 * OLD.score
    FROM qa_questions q WHERE q.id = OLD.question_id AND q.status <> 'deleted'
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = questions + excluded.questions, adopted = adopted + excluded.adopted, answers = answers + excluded.answers,
        ratings = ratings + excluded.ratings, ratings_good = ratings_good + excluded.ratings_good, rating_sum = rating_sum + excluded.rating_sum;
END;

-- Back-fill from the rows already there (storage/rollups.go rebuilds the
-- same way after a bulk load).
INSERT INTO report_active_users (unit, start_day, user_id)
SELECT 'w', day - (day + 3) % 7, actor_id FROM (SELECT DISTINCT ((at_ms + 28800000) / 86400000) AS day, actor_id FROM activity_log WHERE actor_id <> 0) d
UNION
SELECT 'm', CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER), actor_id
FROM (SELECT DISTINCT ((at_ms + 28800000) / 86400000) AS day, actor_id FROM activity_log WHERE actor_id <> 0) d
UNION
SELECT 'y', CAST(julianday(date(day * 86400, 'unixepoch', 'start of year')) - 2440587.5 AS INTEGER), actor_id
FROM (SELECT DISTINCT ((at_ms + 28800000) / 86400000) AS day, actor_id FROM activity_log WHERE actor_id <> 0) d;

INSERT INTO report_tutoring_waits (district_id, day, school_id, wait_ms, n)
SELECT r.district_id, ((r.created_at + 28800000) / 86400000), r.school_id, s.created_at - r.created_at, COUNT(*)
FROM tutoring_sessions s JOIN tutoring_requests r ON r.id = s.request_id
GROUP BY 1, 2, 3, 4;

INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
SELECT s.district_id, ((s.started_at + 28800000) / 86400000), s.school_id,
    COUNT(*), SUM(s.duration_s), COUNT(r.session_id), COUNT(CASE WHEN r.score >= 4 THEN 1 END),
    COALESCE(SUM(r.score), 0), COUNT(CASE WHEN r.solved THEN 1 END)
FROM tutoring_sessions s LEFT JOIN tutoring_ratings r ON r.session_id = s.id
WHERE s.started_at > 0
GROUP BY 1, 2, 3;

INSERT INTO report_qa_first_answers (district_id, day, school_id, first_ms, n)
SELECT district_id, ((created_at + 28800000) / 86400000), school_id, first_answer_at - created_at, COUNT(*)
FROM qa_questions WHERE status <> 'deleted' AND first_answer_at > 0
GROUP BY 1, 2, 3, 4;

INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
SELECT district_id, day, school_id, ms, COUNT(*)
FROM (SELECT c.district_id, ((c.started_at + 28800000) / 86400000) AS day, c.school_id,
        SUM(CASE WHEN a.left_at > a.joined_at THEN a.left_at - a.joined_at ELSE 0 END) AS ms
      FROM class_attendance a JOIN classes c ON c.id = a.class_id
      WHERE c.status = 'ended' AND c.premium = FALSE AND a.role = 'student'
      GROUP BY c.id, c.district_id, c.started_at, c.school_id, a.user_id) p
GROUP BY district_id, day, school_id, ms;

INSERT INTO report_requests_daily (district_id, day, school_id, requests, matched)
SELECT district_id, ((created_at + 28800000) / 86400000), school_id, COUNT(*), COUNT(CASE WHEN status = 'matched' THEN 1 END)
FROM tutoring_requests GROUP BY 1, 2, 3;

INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
SELECT q.district_id, ((q.created_at + 28800000) / 86400000), q.school_id, COUNT(*), COUNT(CASE WHEN q.adopted_answer_id <> 0 THEN 1 END),
    COALESCE(SUM(a.n), 0), COUNT(r.question_id), COUNT(CASE WHEN r.score >= 4 THEN 1 END), COALESCE(SUM(r.score), 0)
FROM qa_questions q
LEFT JOIN (SELECT question_id, COUNT(*) AS n FROM qa_answers GROUP BY question_id) a ON a.question_id = q.id
LEFT JOIN qa_ratings r ON r.question_id = q.id
WHERE q.status <> 'deleted'
GROUP BY 1, 2, 3;

