-- herald schema, migration 8: batched sends (issue 12). A FastCGI process's request
-- threads hand their validated sends to one committer, which runs everything that has
-- queued up as one CALL of hd_send_batch: rate limit, key, backlog, dedupe, quotas,
-- messages and deliveries, set-based for the whole batch, in one durable transaction.
-- The per-statement work, not the fsync, is what a send cost (docs/performance.md),
-- so the batch's rows are written by one multi-row statement per table.
--
-- hd_queue_message and hd_admit stay: a process with send_batch_max = 0 uses them.

-- The batch item a message row was written for. Under interleaved auto-increment
-- (innodb_autoinc_lock_mode = 2, which Galera requires) a multi-row INSERT ... SELECT
-- gets no consecutive ids, so the procedure finds its rows again by this value (a
-- random per-batch base plus the item's index) among ids from LAST_INSERT_ID() on.
ALTER TABLE messages ADD COLUMN batch_ref BIGINT UNSIGNED NULL;

DELIMITER //

-- hd_send_batch: p_batch is a JSON array of sends, each an object with
--   i   the item's index in the batch (0..65535, unique)
--   a   the client address as hex (see hd_addr_key in lib/hd_auth.c)
--   l   its per-second rate limit (0: not counted)
--   h   the key's SHA-256 as hex (absent: no acceptable key; the item is refused)
--   k   the key's kind; c: the tenant the key must belong to (absent: any)
--   s   source, b target kind (0 external id, 1 herald uid, 2 email), t target,
--   ti, bo, d, so, ttl, p, at, dk: title, body, data (JSON text), sound, TTL in s,
--       priority, schedule time in usec since the epoch (absent: now), dedupe key.
-- p_ref: a random base (low 16 bits zero) that marks this batch's message rows.
-- p_count_rate: 1 counts the items against the rate limit; 0 (a rerun after a
-- deadlock: the MEMORY table kept the first run's counts) only reads the counts.
-- p_backlog_limit (0: none) and p_backlog_fresh_s: as hd_backlog_over in C.
--
-- Every item gets the answer it would get alone, in the order of the request path
-- (DESIGN.md §2): state 1 over the rate limit, 2 no such active key (of that tenant),
-- 3 queue backlog over its limit, 4 the app may not send, 5 the email names several
-- users, 6 nothing to send to (user_found says whether the user exists), 7 a dedupe
-- replay (push_count and first_target are the first request's), 8 a quota refused it
-- (retry: seconds until its window ends), 0 stored with push_count deliveries.
--
-- Concurrent requests have no order, so the batch decides as if its items came one
-- after the other in index order, with two conservative simplifications: items with
-- one dedupe key in one batch follow their first item that has devices (it stores,
-- they replay; it is refused by a quota, so are they), and a quota charges the items
-- of one app in index order, so once one does not fit, no later one of that app in
-- the batch is tried. Quotas are never exceeded; the dedupe primary key still picks
-- one winner among concurrent batches (a live record found or waited for answers as
-- a replay). Nothing is half-stored: the transaction commits whole or not at all,
-- and a deadlock (Galera: a certification conflict) rolls back and signals 1213 for
-- the caller to rerun the whole batch.
--
-- Returns one row per item, in index order: i, state, push_count, user_found (0 none,
-- 1 yes, 2 several by email), retry, first_target, app_uid.
CREATE PROCEDURE hd_send_batch(IN p_batch LONGTEXT CHARACTER SET utf8mb4,
                               IN p_ref BIGINT UNSIGNED,
                               IN p_count_rate TINYINT UNSIGNED,
                               IN p_backlog_limit INT UNSIGNED,
                               IN p_backlog_fresh_s INT UNSIGNED)
BEGIN
  DECLARE v_now DATETIME DEFAULT UTC_TIMESTAMP();
  DECLARE v_hour DATETIME DEFAULT DATE_FORMAT(v_now, '%Y-%m-%d %H:00:00');
  DECLARE v_day DATETIME DEFAULT DATE(v_now);
  DECLARE v_first BIGINT UNSIGNED;
  DECLARE v_hits INT UNSIGNED;
  DECLARE v_full TINYINT UNSIGNED DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;

  DROP TEMPORARY TABLE IF EXISTS hd_sb;
  CREATE TEMPORARY TABLE hd_sb (
    i            SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
    addr         VARBINARY(16) NOT NULL,
    rate_limit   INT UNSIGNED NOT NULL,
    addr_rank    INT UNSIGNED NOT NULL DEFAULT 0,
    key_hash     BINARY(32) NULL,
    kind         VARCHAR(16) NOT NULL,
    tenant_id    BIGINT UNSIGNED NULL,
    source       VARCHAR(16) NOT NULL,
    by_what      TINYINT UNSIGNED NOT NULL,
    target       VARCHAR(255) NOT NULL,
    title        VARCHAR(1024) NULL,
    body         TEXT NULL,
    data         TEXT NULL,
    sound        VARCHAR(255) NULL,
    ttl_s        INT UNSIGNED NULL,
    priority     TINYINT UNSIGNED NOT NULL,
    due_at       DATETIME(6) NOT NULL,
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
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

  INSERT INTO hd_sb (i, addr, rate_limit, key_hash, kind, tenant_id, source,
                     by_what, target, title, body, data, sound, ttl_s, priority, due_at,
                     dedupe_key)
    SELECT j.i, UNHEX(j.a), j.l, UNHEX(j.h), j.k, j.c, j.s, j.b, j.t, j.ti, j.bo, j.d, j.so, j.ttl, j.p,
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
             s   VARCHAR(16) PATH '$.s',
             b   TINYINT UNSIGNED PATH '$.b',
             t   VARCHAR(255) PATH '$.t',
             ti  VARCHAR(1024) PATH '$.ti',
             bo  TEXT PATH '$.bo',
             d   TEXT PATH '$.d',
             so  VARCHAR(255) PATH '$.so',
             ttl INT UNSIGNED PATH '$.ttl',
             p   TINYINT UNSIGNED PATH '$.p',
             at  BIGINT UNSIGNED PATH '$.at',
             dk  VARCHAR(255) PATH '$.dk')) j;
  -- Apart from the load: a window over rows with TEXT columns would need an on-disk
  -- temporary table.
  UPDATE hd_sb b
    JOIN (SELECT i, ROW_NUMBER() OVER (PARTITION BY addr ORDER BY i) AS r FROM hd_sb) x
      ON x.i = b.i
     SET b.addr_rank = x.r;

  -- The rate limit, one upsert per address: LAST_INSERT_ID(expr) carries the count
  -- this upsert left, so a concurrent batch's increment is never read as ours, and
  -- the items of one address count 1, 2, ... on from the count before them.
  BEGIN
    -- A full table must not lock every client out: its items go uncounted.
    DECLARE CONTINUE HANDLER FOR 1114 SET v_full = 1;
    FOR a IN (SELECT addr, COUNT(*) AS n FROM hd_sb WHERE rate_limit > 0 GROUP BY addr) DO
      SET v_full = 0;
      IF p_count_rate THEN
        INSERT INTO rate_limit (addr, sec, hits) VALUES (a.addr, UNIX_TIMESTAMP(), a.n)
          ON DUPLICATE KEY UPDATE
            hits = LAST_INSERT_ID(IF(sec = UNIX_TIMESTAMP(), hits + a.n, a.n)),
            sec = UNIX_TIMESTAMP();
        SET v_hits = IF(ROW_COUNT() = 1, a.n, LAST_INSERT_ID());
      ELSE
        SET v_hits = (SELECT hits FROM rate_limit
                       WHERE addr = a.addr AND sec = UNIX_TIMESTAMP());
      END IF;
      UPDATE hd_sb
         SET hits = IF(v_full OR v_hits IS NULL, NULL,
                       GREATEST(CAST(v_hits AS SIGNED) - a.n, 0) + addr_rank)
       WHERE addr = a.addr AND rate_limit > 0;
    END FOR;
  END;
  UPDATE hd_sb SET state = 1 WHERE rate_limit > 0 AND hits > rate_limit;

  UPDATE hd_sb b
    JOIN api_keys k ON k.key_hash = b.key_hash AND k.kind = b.kind AND k.revoked_at IS NULL
    LEFT JOIN apps a ON a.id = k.app_id
     SET b.key_id = k.id, b.app_id = k.app_id, b.app_uid = a.uid,
         b.window_s = COALESCE(a.dedupe_window_s, 600),
         b.enabled = COALESCE(a.push_enabled, 0),
         b.quota_hourly = a.quota_hourly, b.quota_daily = a.quota_daily
   WHERE b.state IS NULL AND (b.tenant_id IS NULL OR b.tenant_id = k.tenant_id);
  UPDATE hd_sb SET state = 2 WHERE state IS NULL AND key_id IS NULL;

  IF p_backlog_limit > 0 AND EXISTS (SELECT 1 FROM queue_backlog WHERE id = 1
       AND measured_at > NOW(6) - INTERVAL p_backlog_fresh_s SECOND
       AND due > p_backlog_limit) THEN
    UPDATE hd_sb SET state = 3 WHERE state IS NULL;
  END IF;
  UPDATE hd_sb SET state = 4 WHERE state IS NULL AND NOT enabled;

  UPDATE hd_sb b SET b.state = 5, b.user_found = 2
   WHERE b.state IS NULL AND b.by_what = 2
     AND (SELECT COUNT(*) FROM app_users u WHERE u.app_id = b.app_id
           AND u.email = b.target COLLATE utf8mb4_unicode_nopad_ci) > 1;

  START TRANSACTION;
  -- One statement per way of naming the user, so that each uses its index.
  UPDATE hd_sb b JOIN app_users u ON u.app_id = b.app_id AND u.external_id = b.target
     SET b.user_id = u.id WHERE b.state IS NULL AND b.by_what = 0;
  UPDATE hd_sb b JOIN app_users u ON u.uid = b.target AND u.app_id = b.app_id
     SET b.user_id = u.id WHERE b.state IS NULL AND b.by_what = 1;
  UPDATE hd_sb b JOIN app_users u ON u.app_id = b.app_id
                              AND u.email = b.target COLLATE utf8mb4_unicode_nopad_ci
     SET b.user_id = u.id WHERE b.state IS NULL AND b.by_what = 2;
  UPDATE hd_sb b
     SET b.devices = (SELECT COUNT(*) FROM devices d WHERE d.app_user_id = b.user_id
                       AND d.status = 'active' AND d.push_permission = 1)
   WHERE b.state IS NULL AND b.user_id IS NOT NULL;

  UPDATE hd_sb b
    JOIN (SELECT app_id, dedupe_key, MIN(i) AS first FROM hd_sb
           WHERE state IS NULL AND devices > 0 AND dedupe_key IS NOT NULL
           GROUP BY app_id, dedupe_key) f
      ON f.app_id = b.app_id AND f.dedupe_key = b.dedupe_key
     SET b.leader = f.first
   WHERE b.state IS NULL;

  INSERT INTO messages (app_id, source, title, body, data, sound, ttl_s, priority,
                        schedule_at, dedupe_key, batch_ref)
    SELECT app_id, source, title, body, data, sound, ttl_s, priority, due_at, dedupe_key,
           p_ref + i
      FROM hd_sb
     WHERE state IS NULL AND devices > 0 AND (dedupe_key IS NULL OR leader = i)
     ORDER BY i;
  IF ROW_COUNT() > 0 THEN
    SET v_first = LAST_INSERT_ID();
    UPDATE hd_sb b
      JOIN messages m ON m.id >= v_first AND m.batch_ref = p_ref + b.i
       SET b.message_id = m.id
     WHERE b.state IS NULL AND b.devices > 0 AND (b.dedupe_key IS NULL OR b.leader = b.i);
  END IF;

  -- Dedupe, as in hd_queue_message: inserted, or an expired record taken over, the
  -- record names our message; a live one (waited for while a concurrent holder of
  -- the key commits or rolls back) keeps its own, and our item replays it.
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

  -- Quotas, after dedupe so that a replay is not charged. The current windows' rows
  -- are created or locked first, then each app's items are charged in index order
  -- while they fit.
  INSERT INTO quota_usage (app_id, period, window_start, used)
    SELECT DISTINCT app_id, 'hour', v_hour, 0 FROM hd_sb
     WHERE state IS NULL AND message_id IS NOT NULL AND quota_hourly IS NOT NULL
     ORDER BY app_id
    ON DUPLICATE KEY UPDATE used = used;
  INSERT INTO quota_usage (app_id, period, window_start, used)
    SELECT DISTINCT app_id, 'day', v_day, 0 FROM hd_sb
     WHERE state IS NULL AND message_id IS NOT NULL AND quota_daily IS NOT NULL
     ORDER BY app_id
    ON DUPLICATE KEY UPDATE used = used;
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
  UPDATE quota_usage q
    JOIN (SELECT app_id, SUM(devices) AS n, MAX(quota_hourly IS NOT NULL) AS hourly,
                 MAX(quota_daily IS NOT NULL) AS daily
            FROM hd_sb WHERE state IS NULL AND message_id IS NOT NULL
           GROUP BY app_id) s ON s.app_id = q.app_id
     SET q.used = q.used + s.n
   WHERE (q.period = 'hour' AND q.window_start = v_hour AND s.hourly)
      OR (q.period = 'day' AND q.window_start = v_day AND s.daily);

  -- What is not stored after all: the records of refused firsts, then the messages.
  DELETE d FROM dedupe d JOIN hd_sb b ON d.app_id = b.app_id AND d.dedupe_key = b.dedupe_key
   WHERE b.state = 8 AND d.message_id = b.message_id;
  DELETE m FROM messages m JOIN hd_sb b ON m.id = b.message_id WHERE b.state IN (7, 8);

  -- The other items with a dedupe key: a live record answers as its first request
  -- did, devices or not; followers of a first refused by a quota are refused too.
  UPDATE hd_sb b
    JOIN dedupe d ON d.app_id = b.app_id AND d.dedupe_key = b.dedupe_key
                 AND d.created_at >= NOW(6) - INTERVAL b.window_s SECOND
     SET b.state = 7, b.push_count = d.push_count, b.first_target = d.target,
         b.user_found = 1
   WHERE b.state IS NULL AND b.message_id IS NULL AND b.dedupe_key IS NOT NULL;
  UPDATE hd_sb b JOIN hd_sb f ON f.i = b.leader
     SET b.state = 8, b.retry = f.retry, b.user_found = 1
   WHERE b.state IS NULL AND b.message_id IS NULL AND f.state = 8;
  UPDATE hd_sb SET state = 6, user_found = user_id IS NOT NULL
   WHERE state IS NULL AND message_id IS NULL;

  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT b.message_id, d.id, d.app_id, b.priority, b.due_at
      FROM hd_sb b JOIN devices d ON d.app_user_id = b.user_id
     WHERE b.state IS NULL AND d.status = 'active' AND d.push_permission = 1
     ORDER BY b.message_id, d.id;
  COMMIT;
  UPDATE hd_sb SET state = 0, push_count = devices, user_found = 1 WHERE state IS NULL;
  SELECT i, state, push_count, user_found, retry, first_target, app_uid
    FROM hd_sb ORDER BY i;
END //

DELIMITER ;
