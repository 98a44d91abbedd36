-- herald schema, migration 18: hd_send_batch runs fewer statements when a batch needs
-- them not (issue 12). A batch's fixed cost is its statements (each one is prepared
-- again on every CALL), and at the batch sizes one sending process makes at 32
-- connections (8 to 16 sends) that is half of what a send costs the database. Two of
-- them are now skipped when they would change nothing:
--   - picking a leader per dedupe key runs only when two of the batch's admitted
--     items share an app and a key; otherwise every item is its own first (leader
--     stays NULL, which the messages insert reads as such);
--   - answering the items that store nothing of their own runs only when some
--     admitted item got no message row (no user or no device, or it follows
--     another item with its key): the count of admitted items against the rows the
--     messages insert wrote.
-- Measured with bench/batch-probe (docs/performance.md): 6 to 10 % less mariadbd CPU
-- per call at 8 and 16 sends. The answers are the same for every batch.
-- Everything else is migration 8's procedure, unchanged (its comments there).

DELIMITER //

-- The interface, the states and the decisions: migration 8.
CREATE OR REPLACE PROCEDURE hd_send_batch(IN p_batch LONGTEXT CHARACTER SET utf8mb4,
                                          IN p_ref BIGINT UNSIGNED,
                                          IN p_count_rate TINYINT UNSIGNED,
                                          IN p_backlog_limit INT UNSIGNED,
                                          IN p_backlog_fresh_s INT UNSIGNED)
BEGIN
  DECLARE v_now DATETIME DEFAULT UTC_TIMESTAMP();
  DECLARE v_hour DATETIME DEFAULT DATE_FORMAT(v_now, '%Y-%m-%d %H:00:00');
  DECLARE v_day DATETIME DEFAULT DATE(v_now);
  DECLARE v_sec INT UNSIGNED DEFAULT UNIX_TIMESTAMP();
  DECLARE v_first BIGINT UNSIGNED;
  DECLARE v_backlog, v_full TINYINT UNSIGNED DEFAULT 0;
  DECLARE v_storing, v_dedupe, v_quota, v_unstored, v_dups, v_open, v_inserted
    INT UNSIGNED DEFAULT 0;
  -- A full rate_limit table must not lock every client out: its items go uncounted.
  DECLARE CONTINUE HANDLER FOR 1114 SET v_full = 1;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;

  -- The batch's work table: MEMORY, without the message's text (read from p_batch
  -- when the rows are written), created once per connection (creating a table costs a
  -- file in tmpdir) and emptied per batch. A later migration that changes its columns
  -- must give it a new name: connections outlive migrations.
  CREATE TEMPORARY TABLE IF NOT EXISTS hd_sb (
    i            SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
    addr         VARBINARY(16) NOT NULL DEFAULT '',
    rate_limit   INT UNSIGNED NOT NULL DEFAULT 0,
    addr_count   INT UNSIGNED NOT NULL DEFAULT 0,
    addr_rank    INT UNSIGNED NOT NULL DEFAULT 0,
    key_hash     BINARY(32) NULL,
    kind         VARCHAR(16) NOT NULL DEFAULT '',
    tenant_id    BIGINT UNSIGNED NULL,
    by_what      TINYINT UNSIGNED NOT NULL DEFAULT 0,
    target       VARCHAR(255) NOT NULL DEFAULT '',
    priority     TINYINT UNSIGNED NOT NULL DEFAULT 5,
    due_at       DATETIME(6) NULL,
    dedupe_key   VARCHAR(255) NULL,
    hits         INT UNSIGNED NULL,
    key_id       BIGINT UNSIGNED NULL,
    app_id       BIGINT UNSIGNED NULL,
    app_uid      VARCHAR(64) NULL,
    window_s     INT UNSIGNED NULL,
    enabled      TINYINT NULL,
    quota_hourly INT UNSIGNED NULL,
    quota_daily  INT UNSIGNED NULL,
    user_id      BIGINT UNSIGNED NULL,
    devices      INT UNSIGNED NOT NULL DEFAULT 0,
    leader       SMALLINT UNSIGNED NULL,
    message_id   BIGINT UNSIGNED NULL,
    state        TINYINT UNSIGNED NULL,
    push_count   INT UNSIGNED NOT NULL DEFAULT 0,
    user_found   TINYINT UNSIGNED NOT NULL DEFAULT 0,
    retry        INT UNSIGNED NULL,
    first_target VARCHAR(255) NULL
  ) ENGINE=MEMORY DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
  DELETE FROM hd_sb;

  INSERT INTO hd_sb (i, addr, rate_limit, addr_count, addr_rank, key_hash, kind, tenant_id,
                     by_what, target, priority, due_at, dedupe_key)
    SELECT j.i, UNHEX(j.a), j.l, COUNT(*) OVER (PARTITION BY j.a),
           ROW_NUMBER() OVER (PARTITION BY j.a ORDER BY j.i), UNHEX(j.h), j.k, j.c, j.b,
           j.t, j.p,
           IF(j.at IS NULL, NOW(6),
              FROM_UNIXTIME(j.at DIV 1000000) + INTERVAL (j.at MOD 1000000) MICROSECOND),
           j.dk
      FROM JSON_TABLE(p_batch, '$[*]' COLUMNS (
             i   SMALLINT UNSIGNED PATH '$.i',
             a   VARCHAR(32) PATH '$.a',
             l   INT UNSIGNED PATH '$.l',
             h   VARCHAR(64) PATH '$.h',
             k   VARCHAR(16) PATH '$.k',
             c   BIGINT UNSIGNED PATH '$.c',
             b   TINYINT UNSIGNED PATH '$.b',
             t   VARCHAR(255) PATH '$.t',
             p   TINYINT UNSIGNED PATH '$.p',
             at  BIGINT UNSIGNED PATH '$.at',
             dk  VARCHAR(255) PATH '$.dk')) j;

  -- The rate limit: one upsert adds each address's items to its count for this
  -- second; its items then count on, 1, 2, ..., from the count before them. (A
  -- concurrent batch's increment in between counts against them too: never fewer.)
  IF p_count_rate THEN
    INSERT INTO rate_limit (addr, sec, hits)
      SELECT addr, v_sec, COUNT(*) FROM hd_sb WHERE rate_limit > 0 GROUP BY addr
      ON DUPLICATE KEY UPDATE hits = IF(sec = VALUES(sec), hits + VALUES(hits), VALUES(hits)),
                              sec = VALUES(sec);
  END IF;
  IF p_backlog_limit > 0 AND EXISTS (SELECT 1 FROM queue_backlog WHERE id = 1
       AND measured_at > NOW(6) - INTERVAL p_backlog_fresh_s SECOND
       AND due > p_backlog_limit) THEN
    SET v_backlog = 1;
  END IF;

  -- Admission: count, key and app. Outside the transaction, so that nothing here
  -- holds a lock across the commit.
  UPDATE hd_sb b
    LEFT JOIN rate_limit r ON r.addr = b.addr AND r.sec = v_sec
    LEFT JOIN api_keys k ON k.key_hash = b.key_hash AND k.kind = b.kind
                        AND k.revoked_at IS NULL
                        AND (b.tenant_id IS NULL OR k.tenant_id = b.tenant_id)
    LEFT JOIN apps a ON a.id = k.app_id
     SET b.hits = IF(b.rate_limit = 0 OR v_full, NULL,
                     GREATEST(CAST(r.hits AS SIGNED) - b.addr_count, 0) + b.addr_rank),
         b.key_id = k.id, b.app_id = k.app_id, b.app_uid = a.uid,
         b.window_s = COALESCE(a.dedupe_window_s, 600),
         b.enabled = COALESCE(a.push_enabled, 0),
         b.quota_hourly = a.quota_hourly, b.quota_daily = a.quota_daily;
  -- The refusals in the request path's order, then the user and its devices (one
  -- subquery per way of naming the user, so that each uses its index). A single-table
  -- UPDATE assigns from left to right.
  UPDATE hd_sb b
     SET b.state = CASE
           WHEN b.hits > b.rate_limit THEN 1
           WHEN b.key_id IS NULL THEN 2
           WHEN v_backlog THEN 3
           WHEN NOT b.enabled THEN 4
           WHEN b.by_what = 2 AND (SELECT COUNT(*) FROM app_users u WHERE u.app_id = b.app_id
                  AND u.email = b.target COLLATE utf8mb4_unicode_nopad_ci) > 1 THEN 5
         END,
         b.user_found = IF(b.state = 5, 2, 0),
         b.user_id = IF(b.state IS NOT NULL, NULL, CASE b.by_what
           WHEN 0 THEN (SELECT u.id FROM app_users u
                         WHERE u.app_id = b.app_id AND u.external_id = b.target)
           WHEN 1 THEN (SELECT u.id FROM app_users u
                         WHERE u.uid = b.target AND u.app_id = b.app_id)
           ELSE (SELECT MIN(u.id) FROM app_users u WHERE u.app_id = b.app_id
                    AND u.email = b.target COLLATE utf8mb4_unicode_nopad_ci) END),
         b.devices = IF(b.user_id IS NULL, 0,
                        (SELECT COUNT(*) FROM devices d WHERE d.app_user_id = b.user_id
                            AND d.status = 'active' AND d.push_permission = 1));

  SELECT COUNT(IF(devices > 0, 1, NULL)), COUNT(IF(devices > 0, dedupe_key, NULL)),
         COUNT(IF(devices > 0, quota_hourly, NULL)) + COUNT(IF(devices > 0, quota_daily, NULL)),
         COUNT(dedupe_key) - COUNT(DISTINCT app_id, dedupe_key), COUNT(*)
    INTO v_storing, v_dedupe, v_quota, v_dups, v_open
    FROM hd_sb WHERE state IS NULL;
  -- Leaders only where two admitted items share a key; else each is its own first.
  IF v_dups > 0 AND v_dedupe > 0 THEN
    UPDATE hd_sb b
      JOIN (SELECT app_id, dedupe_key, MIN(i) AS first FROM hd_sb
             WHERE state IS NULL AND devices > 0 AND dedupe_key IS NOT NULL
             GROUP BY app_id, dedupe_key) f
        ON f.app_id = b.app_id AND f.dedupe_key = b.dedupe_key
       SET b.leader = f.first
     WHERE b.state IS NULL;
  END IF;

  IF v_storing > 0 THEN
    -- READ COMMITTED: reading the batch's own message rows back must not wait for
    -- concurrent batches' uncommitted rows in the same id range. The decisions are
    -- all taken by locking writes (upserts on primary keys).
    SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
    START TRANSACTION;
    INSERT INTO messages (app_id, source, title, body, data, sound, ttl_s, priority,
                          schedule_at, dedupe_key, batch_ref)
      SELECT b.app_id, j.s, j.ti, j.bo, j.d, j.so, j.ttl, b.priority, b.due_at, b.dedupe_key,
             p_ref + b.i
        FROM JSON_TABLE(p_batch, '$[*]' COLUMNS (
               i   SMALLINT UNSIGNED PATH '$.i',
               s   VARCHAR(16) PATH '$.s',
               ti  VARCHAR(1024) PATH '$.ti',
               bo  TEXT PATH '$.bo',
               d   TEXT PATH '$.d',
               so  VARCHAR(255) PATH '$.so',
               ttl INT UNSIGNED PATH '$.ttl')) j
        STRAIGHT_JOIN hd_sb b ON b.i = j.i
       WHERE b.state IS NULL AND b.devices > 0 AND (b.leader IS NULL OR b.leader = b.i);
    SET v_inserted = ROW_COUNT(), v_first = LAST_INSERT_ID();
    INSERT INTO hd_sb (i, message_id)
      SELECT m.batch_ref - p_ref, m.id FROM messages m
       WHERE m.id >= v_first AND m.batch_ref BETWEEN p_ref AND p_ref + 65535
      ON DUPLICATE KEY UPDATE message_id = VALUES(message_id);

    IF v_dedupe > 0 THEN
      -- As in hd_queue_message: inserted, or an expired record taken over, the record
      -- names our message; a live one (waited for while a concurrent holder of the
      -- key commits or rolls back) keeps its own, and our item replays it.
      INSERT INTO dedupe (app_id, dedupe_key, message_id, push_count, target, created_at)
        SELECT app_id, dedupe_key, message_id, devices, target, NOW(6) FROM hd_sb
         WHERE message_id IS NOT NULL AND dedupe_key IS NOT NULL
         ORDER BY app_id, dedupe_key
        ON DUPLICATE KEY UPDATE
          message_id = IF(dedupe.created_at < NOW(6) - INTERVAL
                            (SELECT COALESCE(MAX(a.dedupe_window_s), 600) FROM apps a
                              WHERE a.id = dedupe.app_id) SECOND,
                          VALUES(message_id), dedupe.message_id),
          push_count = IF(dedupe.message_id = VALUES(message_id), VALUES(push_count),
                          dedupe.push_count),
          target = IF(dedupe.message_id = VALUES(message_id), VALUES(target), dedupe.target),
          created_at = IF(dedupe.message_id = VALUES(message_id), VALUES(created_at),
                          dedupe.created_at);
      UPDATE hd_sb b JOIN dedupe d ON d.app_id = b.app_id AND d.dedupe_key = b.dedupe_key
         SET b.state = 7, b.push_count = d.push_count, b.first_target = d.target,
             b.user_found = 1
       WHERE b.message_id IS NOT NULL AND d.message_id <> b.message_id;
      SET v_unstored = ROW_COUNT();
    END IF;

    IF v_quota > 0 THEN
      -- After dedupe, so that a replay is not charged. The current windows' rows are
      -- created or locked first, then each app's items are charged in index order
      -- while they fit.
      INSERT INTO quota_usage (app_id, period, window_start, used)
        SELECT DISTINCT app_id, 'hour', v_hour, 0 FROM hd_sb
         WHERE state IS NULL AND message_id IS NOT NULL AND quota_hourly IS NOT NULL
        UNION ALL
        SELECT DISTINCT app_id, 'day', v_day, 0 FROM hd_sb
         WHERE state IS NULL AND message_id IS NOT NULL AND quota_daily IS NOT NULL
        ON DUPLICATE KEY UPDATE used = quota_usage.used;
      UPDATE hd_sb b
        JOIN (SELECT i, SUM(devices) OVER (PARTITION BY app_id ORDER BY i) AS cum FROM hd_sb
               WHERE state IS NULL AND message_id IS NOT NULL) c ON c.i = b.i
        LEFT JOIN quota_usage h ON h.app_id = b.app_id AND h.period = 'hour'
                                AND h.window_start = v_hour
        LEFT JOIN quota_usage dq ON dq.app_id = b.app_id AND dq.period = 'day'
                                 AND dq.window_start = v_day
         SET b.state = 8, b.user_found = 1,
             b.retry = GREATEST(1, IF(b.quota_hourly IS NOT NULL
                                      AND h.used + c.cum > b.quota_hourly,
                                      TIMESTAMPDIFF(SECOND, v_now, v_hour + INTERVAL 1 HOUR),
                                      TIMESTAMPDIFF(SECOND, v_now, v_day + INTERVAL 1 DAY)))
       WHERE (b.quota_hourly IS NOT NULL AND h.used + c.cum > b.quota_hourly)
          OR (b.quota_daily IS NOT NULL AND dq.used + c.cum > b.quota_daily);
      SET v_unstored = v_unstored + ROW_COUNT();
      UPDATE quota_usage q
        JOIN (SELECT app_id, SUM(devices) AS n, MAX(quota_hourly IS NOT NULL) AS hourly,
                     MAX(quota_daily IS NOT NULL) AS daily
                FROM hd_sb WHERE state IS NULL AND message_id IS NOT NULL
               GROUP BY app_id) s ON s.app_id = q.app_id
         SET q.used = q.used + s.n
       WHERE (q.period = 'hour' AND q.window_start = v_hour AND s.hourly)
          OR (q.period = 'day' AND q.window_start = v_day AND s.daily);
      -- The records of firsts refused by a quota go with their messages.
      DELETE d FROM hd_sb b STRAIGHT_JOIN dedupe d
                 ON d.app_id = b.app_id AND d.dedupe_key = b.dedupe_key
       WHERE b.state = 8 AND d.message_id = b.message_id;
    END IF;
    IF v_unstored > 0 THEN
      DELETE m FROM hd_sb b STRAIGHT_JOIN messages m ON m.id = b.message_id
       WHERE b.state IN (7, 8);
    END IF;

    INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
      SELECT b.message_id, d.id, d.app_id, b.priority, b.due_at
        FROM hd_sb b STRAIGHT_JOIN devices d ON d.app_user_id = b.user_id
       WHERE b.state IS NULL AND b.message_id IS NOT NULL
         AND d.status = 'active' AND d.push_permission = 1;
    COMMIT;
  END IF;

  -- The items that store nothing of their own: a live record of their dedupe key
  -- answers as its first request did, devices or not; followers of a first refused
  -- by a quota are refused too; the rest have no user or no device.
  -- Only if an admitted item got no message row of its own.
  IF v_open > v_inserted THEN
    UPDATE hd_sb b
      LEFT JOIN dedupe d ON d.app_id = b.app_id AND d.dedupe_key = b.dedupe_key
                        AND d.created_at >= NOW(6) - INTERVAL b.window_s SECOND
      LEFT JOIN hd_sb f ON f.i = b.leader
       SET b.state = CASE WHEN d.app_id IS NOT NULL THEN 7 WHEN f.state = 8 THEN 8 ELSE 6 END,
           b.push_count = COALESCE(d.push_count, 0), b.first_target = d.target,
           b.retry = IF(d.app_id IS NULL AND f.state = 8, f.retry, NULL),
           b.user_found = IF(d.app_id IS NOT NULL OR f.state = 8, 1, b.user_id IS NOT NULL)
     WHERE b.state IS NULL AND b.message_id IS NULL;
  END IF;

  SELECT i, COALESCE(state, 0), IF(state IS NULL, devices, push_count),
         IF(state IS NULL, 1, user_found), retry, first_target, app_uid
    FROM hd_sb ORDER BY i;
END //

DELIMITER ;
