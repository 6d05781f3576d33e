-- Roll-ups of the statistics' slowest facts (docs/reports.md, "Cost"),
-- kept by triggers in the transaction that writes the domain rows, so
-- every writer keeps them exact. A day is an Asia/Shanghai calendar day
-- (UTC+8, no summer time): (ms + 28800000) / 86400000 days since
-- 1970-01-01. Rows whose counts fell back to 0 stay; readers skip them.

-- While a bulk load runs in a transaction (demo data) the triggers stand
-- aside and the load rebuilds the roll-ups once at its end.
CREATE TABLE report_rollup_state (
    bulk BOOLEAN NOT NULL
);
INSERT INTO report_rollup_state (bulk) VALUES (FALSE);

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

CREATE FUNCTION report_day(ms BIGINT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS
$$ SELECT CAST((ms + 28800000) / 86400000 AS INTEGER) $$;

CREATE FUNCTION report_rollup_off() RETURNS BOOLEAN LANGUAGE sql STABLE AS
$$ SELECT bulk FROM report_rollup_state $$;

CREATE FUNCTION report_active_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d INTEGER := report_day(NEW.at_ms);
    dd TIMESTAMP := (DATE '1970-01-01' + d)::timestamp;
BEGIN
    IF NEW.actor_id = 0 OR report_rollup_off() THEN
        RETURN NULL;
    END IF;
    INSERT INTO report_active_users (unit, start_day, user_id) VALUES
        ('w', d - (d + 3) % 7, NEW.actor_id),
        ('m', date_trunc('month', dd)::date - DATE '1970-01-01', NEW.actor_id),
        ('y', date_trunc('year', dd)::date - DATE '1970-01-01', NEW.actor_id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER report_active_roll AFTER INSERT ON activity_log
    FOR EACH ROW EXECUTE FUNCTION report_active_roll();

-- A session's wait: added when the session is created, taken back if it is deleted.
CREATE FUNCTION report_waits_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s tutoring_sessions;
    k BIGINT;
BEGIN
    IF report_rollup_off() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        s := NEW;
        k := 1;
    ELSE
        s := OLD;
        k := -1;
    END IF;
    INSERT INTO report_tutoring_waits (district_id, day, school_id, wait_ms, n)
    SELECT r.district_id, report_day(r.created_at), r.school_id, s.created_at - r.created_at, k
    FROM tutoring_requests r WHERE r.id = s.request_id
    ON CONFLICT (district_id, day, school_id, wait_ms)
    DO UPDATE SET n = report_tutoring_waits.n + excluded.n;
    RETURN NULL;
END $$;
CREATE TRIGGER report_waits_roll AFTER INSERT OR DELETE ON tutoring_sessions
    FOR EACH ROW EXECUTE FUNCTION report_waits_roll();

-- report_tutoring_add adds k times a session (and its rating, when
-- rated) to its day.
CREATE FUNCTION report_tutoring_add(s tutoring_sessions, with_session BOOLEAN, r tutoring_ratings, k BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF s.started_at <= 0 THEN
        RETURN;
    END IF;
    INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
    VALUES (s.district_id, report_day(s.started_at), s.school_id,
        CASE WHEN with_session THEN k ELSE 0 END,
        CASE WHEN with_session THEN k * s.duration_s ELSE 0 END,
        CASE WHEN r.session_id IS NULL THEN 0 ELSE k END,
        CASE WHEN r.score >= 4 THEN k ELSE 0 END,
        COALESCE(k * r.score, 0),
        CASE WHEN r.solved THEN k ELSE 0 END)
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        sessions = report_tutoring_daily.sessions + excluded.sessions,
        seconds = report_tutoring_daily.seconds + excluded.seconds,
        ratings = report_tutoring_daily.ratings + excluded.ratings,
        ratings_good = report_tutoring_daily.ratings_good + excluded.ratings_good,
        rating_sum = report_tutoring_daily.rating_sum + excluded.rating_sum,
        solved = report_tutoring_daily.solved + excluded.solved;
END $$;

-- A session moves (its start, its place, its length change): out of the
-- old day with its rating, into the new one.
CREATE FUNCTION report_sessions_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r tutoring_ratings;
BEGIN
    IF report_rollup_off() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT * INTO r FROM tutoring_ratings WHERE session_id = OLD.id;
        PERFORM report_tutoring_add(OLD, TRUE, r, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT * INTO r FROM tutoring_ratings WHERE session_id = NEW.id;
        PERFORM report_tutoring_add(NEW, TRUE, r, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_sessions_roll
    AFTER INSERT OR DELETE OR UPDATE OF started_at, duration_s, district_id, school_id
    ON tutoring_sessions FOR EACH ROW EXECUTE FUNCTION report_sessions_roll();

CREATE FUNCTION report_ratings_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s tutoring_sessions;
BEGIN
    IF report_rollup_off() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT * INTO s FROM tutoring_sessions WHERE id = OLD.session_id;
        IF FOUND THEN
            PERFORM report_tutoring_add(s, FALSE, OLD, -1);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT * INTO s FROM tutoring_sessions WHERE id = NEW.session_id;
        PERFORM report_tutoring_add(s, FALSE, NEW, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_ratings_roll AFTER INSERT OR DELETE OR UPDATE OF score, solved, session_id
    ON tutoring_ratings FOR EACH ROW EXECUTE FUNCTION report_ratings_roll();

CREATE FUNCTION report_first_answers_roll() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF report_rollup_off() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.status <> 'deleted' AND OLD.first_answer_at > 0 THEN
        INSERT INTO report_qa_first_answers (district_id, day, school_id, first_ms, n)
        VALUES (OLD.district_id, report_day(OLD.created_at), OLD.school_id, OLD.first_answer_at - OLD.created_at, -1)
        ON CONFLICT (district_id, day, school_id, first_ms)
        DO UPDATE SET n = report_qa_first_answers.n + excluded.n;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status <> 'deleted' AND NEW.first_answer_at > 0 THEN
        INSERT INTO report_qa_first_answers (district_id, day, school_id, first_ms, n)
        VALUES (NEW.district_id, report_day(NEW.created_at), NEW.school_id, NEW.first_answer_at - NEW.created_at, 1)
        ON CONFLICT (district_id, day, school_id, first_ms)
        DO UPDATE SET n = report_qa_first_answers.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_first_answers_roll
    AFTER INSERT OR DELETE OR UPDATE OF status, first_answer_at, created_at, district_id, school_id
    ON qa_questions FOR EACH ROW EXECUTE FUNCTION report_first_answers_roll();

CREATE FUNCTION report_presence_put(c classes, total BIGINT, k BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
    VALUES (c.district_id, report_day(c.started_at), c.school_id, total, k)
    ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = report_class_presence.n + excluded.n
$$;

-- report_presence_move: the student rows of (cid, uid) are about to
-- change by dn rows and dms milliseconds present; read before the change
-- (from a BEFORE trigger, which sees the rows an earlier row of the same
-- statement changed), so several rows of one pair changed at once add up.
CREATE FUNCTION report_presence_move(cid BIGINT, uid BIGINT, dn BIGINT, dms BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c classes;
    cnt BIGINT;
    total BIGINT;
BEGIN
    SELECT * INTO c FROM classes WHERE id = cid;
    IF NOT FOUND OR c.status <> 'ended' OR c.premium THEN
        RETURN;
    END IF;
    SELECT COUNT(*), COALESCE(SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END), 0) INTO cnt, total
    FROM class_attendance WHERE class_id = cid AND user_id = uid AND role = 'student';
    IF cnt > 0 THEN
        PERFORM report_presence_put(c, total, -1);
    END IF;
    IF cnt + dn > 0 THEN
        PERFORM report_presence_put(c, total + dms, 1);
    END IF;
END $$;

CREATE FUNCTION report_presence_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_ms BIGINT;
    new_ms BIGINT;
BEGIN
    IF report_rollup_off() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        old_ms := CASE WHEN OLD.left_at > OLD.joined_at THEN OLD.left_at - OLD.joined_at ELSE 0 END;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_ms := CASE WHEN NEW.left_at > NEW.joined_at THEN NEW.left_at - NEW.joined_at ELSE 0 END;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.class_id = NEW.class_id AND OLD.user_id = NEW.user_id
        AND OLD.role = 'student' AND NEW.role = 'student' THEN
        PERFORM report_presence_move(NEW.class_id, NEW.user_id, 0, new_ms - old_ms);
        RETURN NEW;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.role = 'student' THEN
        PERFORM report_presence_move(OLD.class_id, OLD.user_id, -1, -old_ms);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.role = 'student' THEN
        PERFORM report_presence_move(NEW.class_id, NEW.user_id, 1, new_ms);
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER report_presence_roll
    BEFORE INSERT OR DELETE OR UPDATE OF class_id, user_id, role, joined_at, left_at
    ON class_attendance FOR EACH ROW EXECUTE FUNCTION report_presence_roll();

-- A class ends (or changes its start, place or kind): its pairs leave the
-- old key and join the new one.
CREATE FUNCTION report_class_roll() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF report_rollup_off() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.status = 'ended' AND NOT OLD.premium THEN
        INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
        SELECT OLD.district_id, report_day(OLD.started_at), OLD.school_id, p.ms, -COUNT(*)
        FROM (SELECT SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END) AS ms
              FROM class_attendance WHERE class_id = OLD.id AND role = 'student' GROUP BY user_id) p
        GROUP BY p.ms
        ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = report_class_presence.n + excluded.n;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'ended' AND NOT NEW.premium THEN
        INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
        SELECT NEW.district_id, report_day(NEW.started_at), NEW.school_id, p.ms, COUNT(*)
        FROM (SELECT SUM(CASE WHEN left_at > joined_at THEN left_at - joined_at ELSE 0 END) AS ms
              FROM class_attendance WHERE class_id = NEW.id AND role = 'student' GROUP BY user_id) p
        GROUP BY p.ms
        ON CONFLICT (district_id, day, school_id, ms) DO UPDATE SET n = report_class_presence.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_class_roll
    AFTER INSERT OR DELETE OR UPDATE OF status, premium, started_at, district_id, school_id
    ON classes FOR EACH ROW EXECUTE FUNCTION report_class_roll();

CREATE FUNCTION report_requests_roll() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF report_rollup_off() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO report_requests_daily (district_id, day, school_id, requests, matched)
        VALUES (OLD.district_id, report_day(OLD.created_at), OLD.school_id, -1, CASE WHEN OLD.status = 'matched' THEN -1 ELSE 0 END)
        ON CONFLICT (district_id, day, school_id) DO UPDATE SET requests = report_requests_daily.requests + excluded.requests,
            matched = report_requests_daily.matched + excluded.matched;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO report_requests_daily (district_id, day, school_id, requests, matched)
        VALUES (NEW.district_id, report_day(NEW.created_at), NEW.school_id, 1, CASE WHEN NEW.status = 'matched' THEN 1 ELSE 0 END)
        ON CONFLICT (district_id, day, school_id) DO UPDATE SET requests = report_requests_daily.requests + excluded.requests,
            matched = report_requests_daily.matched + excluded.matched;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_requests_roll AFTER INSERT OR DELETE OR UPDATE OF status, created_at, district_id, school_id
    ON tutoring_requests FOR EACH ROW EXECUTE FUNCTION report_requests_roll();

-- report_qa_add adds k times question q's counts (with dq questions, its
-- answers times da and its rating times dr) when q is not deleted.
CREATE FUNCTION report_qa_add(q qa_questions, dq BIGINT, da BIGINT, dr BIGINT, score INTEGER, k BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
    SELECT q.district_id, report_day(q.created_at), q.school_id, k * dq, CASE WHEN q.adopted_answer_id <> 0 THEN k * dq ELSE 0 END,
        k * da, k * dr, CASE WHEN score >= 4 THEN k * dr ELSE 0 END, k * dr * COALESCE(score, 0)
    WHERE q.status <> 'deleted' AND q.id IS NOT NULL
    ON CONFLICT (district_id, day, school_id) DO UPDATE SET
        questions = report_qa_daily.questions + excluded.questions, adopted = report_qa_daily.adopted + excluded.adopted,
        answers = report_qa_daily.answers + excluded.answers, ratings = report_qa_daily.ratings + excluded.ratings,
        ratings_good = report_qa_daily.ratings_good + excluded.ratings_good, rating_sum = report_qa_daily.rating_sum + excluded.rating_sum
$$;

-- A question with all its answers and its rating leaves its old key and
-- joins its new one (deleted: none).
CREATE FUNCTION report_question_move(q qa_questions, k BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    answers BIGINT;
    score INTEGER;
BEGIN
    SELECT COUNT(*) INTO answers FROM qa_answers WHERE question_id = q.id;
    SELECT r.score INTO score FROM qa_ratings r WHERE r.question_id = q.id;
    PERFORM report_qa_add(q, 1, answers, CASE WHEN score IS NULL THEN 0 ELSE 1 END, score, k);
END $$;

CREATE FUNCTION report_questions_roll() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF report_rollup_off() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM report_question_move(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM report_question_move(NEW, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_questions_roll AFTER INSERT OR DELETE OR UPDATE OF status, adopted_answer_id, created_at, district_id, school_id
    ON qa_questions FOR EACH ROW EXECUTE FUNCTION report_questions_roll();

CREATE FUNCTION report_answers_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    q qa_questions;
BEGIN
    IF report_rollup_off() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT * INTO q FROM qa_questions WHERE id = OLD.question_id;
        PERFORM report_qa_add(q, 0, 1, 0, NULL, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT * INTO q FROM qa_questions WHERE id = NEW.question_id;
        PERFORM report_qa_add(q, 0, 1, 0, NULL, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_answers_roll AFTER INSERT OR DELETE OR UPDATE OF question_id
    ON qa_answers FOR EACH ROW EXECUTE FUNCTION report_answers_roll();

CREATE FUNCTION report_qa_ratings_roll() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    q qa_questions;
BEGIN
    IF report_rollup_off() THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT * INTO q FROM qa_questions WHERE id = OLD.question_id;
        PERFORM report_qa_add(q, 0, 0, 1, OLD.score, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT * INTO q FROM qa_questions WHERE id = NEW.question_id;
        PERFORM report_qa_add(q, 0, 0, 1, NEW.score, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_qa_ratings_roll AFTER INSERT OR DELETE OR UPDATE OF question_id, score
    ON qa_ratings FOR EACH ROW EXECUTE FUNCTION report_qa_ratings_roll();

-- Back-fill from the rows already there (storage/rollups.go rebuilds the
-- same way after a bulk load).
INSERT INTO report_active_users (unit, start_day, user_id)
SELECT 'w', day - (day + 3) % 7, actor_id FROM (SELECT DISTINCT report_day(at_ms) AS day, actor_id FROM activity_log WHERE actor_id <> 0) d
UNION
SELECT 'm', date_trunc('month', (DATE '1970-01-01' + day)::timestamp)::date - DATE '1970-01-01', actor_id
FROM (SELECT DISTINCT report_day(at_ms) AS day, actor_id FROM activity_log WHERE actor_id <> 0) d
UNION
SELECT 'y', date_trunc('year', (DATE '1970-01-01' + day)::timestamp)::date - DATE '1970-01-01', actor_id
FROM (SELECT DISTINCT report_day(at_ms) AS day, actor_id FROM activity_log WHERE actor_id <> 0) d;

INSERT INTO report_tutoring_waits (district_id, day, school_id, wait_ms, n)
SELECT r.district_id, report_day(r.created_at), r.school_id, s.created_at - r.created_at, COUNT(*)
FROM tutoring_sessions s JOIN tutoring_requests r ON r.id = s.request_id
GROUP BY 1, 2, 3, 4;

INSERT INTO report_tutoring_daily (district_id, day, school_id, sessions, seconds, ratings, ratings_good, rating_sum, solved)
SELECT s.district_id, report_day(s.started_at), s.school_id,
    COUNT(*), SUM(s.duration_s), COUNT(r.session_id), COUNT(CASE WHEN r.score >= 4 THEN 1 END),
    COALESCE(SUM(r.score), 0), COUNT(CASE WHEN r.solved THEN 1 END)
FROM tutoring_sessions s LEFT JOIN tutoring_ratings r ON r.session_id = s.id
WHERE s.started_at > 0
GROUP BY 1, 2, 3;

INSERT INTO report_qa_first_answers (district_id, day, school_id, first_ms, n)
SELECT district_id, report_day(created_at), school_id, first_answer_at - created_at, COUNT(*)
FROM qa_questions WHERE status <> 'deleted' AND first_answer_at > 0
GROUP BY 1, 2, 3, 4;

INSERT INTO report_class_presence (district_id, day, school_id, ms, n)
SELECT district_id, day, school_id, ms, COUNT(*)
FROM (SELECT c.district_id, report_day(c.started_at) AS day, c.school_id,
        SUM(CASE WHEN a.left_at > a.joined_at THEN a.left_at - a.joined_at ELSE 0 END) AS ms
      FROM class_attendance a JOIN classes c ON c.id = a.class_id
      WHERE c.status = 'ended' AND c.premium = FALSE AND a.role = 'student'
      GROUP BY c.id, c.district_id, c.started_at, c.school_id, a.user_id) p
GROUP BY district_id, day, school_id, ms;

INSERT INTO report_requests_daily (district_id, day, school_id, requests, matched)
SELECT district_id, report_day(created_at), school_id, COUNT(*), COUNT(CASE WHEN status = 'matched' THEN 1 END)
FROM tutoring_requests GROUP BY 1, 2, 3;

INSERT INTO report_qa_daily (district_id, day, school_id, questions, adopted, answers, ratings, ratings_good, rating_sum)
SELECT q.district_id, report_day(q.created_at), q.school_id, COUNT(*), COUNT(CASE WHEN q.adopted_answer_id <> 0 THEN 1 END),
    COALESCE(SUM(a.n), 0), COUNT(r.question_id), COUNT(CASE WHEN r.score >= 4 THEN 1 END), COALESCE(SUM(r.score), 0)
FROM qa_questions q
LEFT JOIN (SELECT question_id, COUNT(*) AS n FROM qa_answers GROUP BY question_id) a ON a.question_id = q.id
LEFT JOIN qa_ratings r ON r.question_id = q.id
WHERE q.status <> 'deleted'
GROUP BY 1, 2, 3;

ANALYZE report_requests_daily, report_qa_daily, report_active_users, report_tutoring_waits, report_tutoring_daily, report_qa_first_answers, report_class_presence;
