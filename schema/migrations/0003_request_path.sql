-- herald schema, migration 3: the request path's procedures. A developer send costs
-- two round trips to the database: hd_admit (rate limit + key) and hd_queue_message
-- (the whole send transaction); a legacy send three (its key is in the body, so it is
-- looked up with hd_admit after the body is parsed). Both decide with the database's own
-- atomic operations (upserts, unique keys), so any number of web hosts can share them.

DELIMITER //

-- hd_admit: counts one request from p_addr against the per-second limit p_limit
-- (0 = no limit) and, when p_key_hash is not NULL, looks up an active key of kind
-- p_kind. Returns one row: hits in the current second (0 when not counted; NULL when
-- the rate_limit table is full, and the request is then admitted uncounted), then the
-- key's id, tenant, app, app user, app uid, the app's dedupe window, whether the app
-- may send, and its hourly and daily quotas (all NULL when no key matches; a NULL
-- quota is no quota). Over the limit, the key is not looked up.
CREATE PROCEDURE hd_admit(IN p_addr VARBINARY(16), IN p_limit INT UNSIGNED,
                          IN p_key_hash BINARY(32), IN p_kind VARCHAR(16))
BEGIN
  DECLARE v_hits INT UNSIGNED DEFAULT 0;
  -- A full table must not lock every client out: count nothing until rows expire.
  DECLARE CONTINUE HANDLER FOR 1114 SET v_hits = NULL;
  IF p_limit > 0 THEN
    -- LAST_INSERT_ID(expr) carries this request's own count out of the upsert, so a
    -- concurrent request's increment can never be read as ours.
    INSERT INTO rate_limit (addr, sec, hits) VALUES (p_addr, UNIX_TIMESTAMP(), 1)
      ON DUPLICATE KEY UPDATE
        hits = LAST_INSERT_ID(IF(sec = UNIX_TIMESTAMP(), hits + 1, 1)),
        sec = UNIX_TIMESTAMP();
    IF v_hits IS NOT NULL THEN
      SET v_hits = IF(ROW_COUNT() = 1, 1, LAST_INSERT_ID());
    END IF;
  END IF;
  IF p_key_hash IS NULL OR (p_limit > 0 AND COALESCE(v_hits > p_limit, FALSE)) THEN
    SELECT v_hits, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
  ELSE
    SELECT v_hits, k.id, k.tenant_id, k.app_id, k.app_user_id, a.uid, a.dedupe_window_s,
           a.push_enabled, a.quota_hourly, a.quota_daily
      FROM (SELECT 1) one
      LEFT JOIN api_keys k ON k.key_hash = p_key_hash AND k.kind = p_kind
                           AND k.revoked_at IS NULL
      LEFT JOIN apps a ON a.id = k.app_id;
  END IF;
END //

-- hd_queue_message: stores a message for one user of app p_app_id with one queued
-- delivery per device of the user that is active and has push permission, in one
-- transaction. The user is named by p_by: 0 external id, 1 herald uid, 2 email.
-- With a dedupe key, the primary key of `dedupe` picks one winner among concurrent
-- requests; a live record (younger than p_window_s) replays the first answer.
-- With quotas (p_quota_hourly, p_quota_daily; NULL = none) the deliveries are charged
-- to the current UTC hour and day by an atomic upsert; a send that would exceed either
-- is refused whole.
-- An email must name one user: when several of the app's users share it, nothing is
-- stored and user_found is 2.
-- Returns one row: push_count, replayed (0/1), user_found (0 none, 1 yes, 2 several
-- by email), when a quota
-- refused the send the seconds until its window ends (else NULL), and for a replay
-- the user as the first request named it (else NULL). Nothing was stored when
-- push_count is 0 or the answer is a replay. A deadlock (Galera: a certification conflict) rolls back and
-- signals 1213: the caller reruns the call.
CREATE PROCEDURE hd_queue_message(
  IN p_app_id BIGINT UNSIGNED,
  IN p_source VARCHAR(16),
  IN p_by TINYINT UNSIGNED,
  IN p_target VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_title VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_body TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_data TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_sound VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_ttl_s INT UNSIGNED,
  IN p_priority TINYINT UNSIGNED,
  IN p_schedule_at DATETIME(6),
  IN p_dedupe_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_window_s INT UNSIGNED,
  IN p_quota_hourly INT UNSIGNED,
  IN p_quota_daily INT UNSIGNED)
proc: BEGIN
  DECLARE v_due DATETIME(6) DEFAULT COALESCE(p_schedule_at, NOW(6));
  DECLARE v_message_id BIGINT UNSIGNED;
  DECLARE v_count INT UNSIGNED DEFAULT 0;
  DECLARE v_replay INT UNSIGNED DEFAULT NULL;
  DECLARE v_now DATETIME DEFAULT UTC_TIMESTAMP();
  DECLARE v_hour DATETIME DEFAULT DATE_FORMAT(v_now, '%Y-%m-%d %H:00:00');
  DECLARE v_day DATETIME DEFAULT DATE(v_now);
  DECLARE v_retry INT UNSIGNED DEFAULT NULL;
  DECLARE v_first_target VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
  -- SELECT ... INTO that finds no row leaves the variables NULL.
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_replay = NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;

  IF p_by = 2 AND (SELECT COUNT(*) FROM app_users u WHERE u.app_id = p_app_id
                    AND u.email = p_target COLLATE utf8mb4_unicode_nopad_ci) > 1 THEN
    SELECT 0, 0, 2, NULL, NULL;
    LEAVE proc;
  END IF;

  START TRANSACTION;
  INSERT INTO messages (app_id, source, title, body, data, sound, ttl_s, priority,
                        schedule_at, dedupe_key)
    VALUES (p_app_id, p_source, p_title, p_body, p_data, p_sound, p_ttl_s, p_priority,
            v_due, p_dedupe_key);
  SET v_message_id = LAST_INSERT_ID();
  -- One statement per way of naming the user, so that each uses its index.
  CASE p_by
    WHEN 0 THEN
      INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
        SELECT v_message_id, d.id, d.app_id, p_priority, v_due
          FROM app_users u JOIN devices d ON d.app_user_id = u.id
         WHERE u.app_id = p_app_id AND u.external_id = p_target
           AND d.status = 'active' AND d.push_permission = 1;
    WHEN 1 THEN
      INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
        SELECT v_message_id, d.id, d.app_id, p_priority, v_due
          FROM app_users u JOIN devices d ON d.app_user_id = u.id
         WHERE u.app_id = p_app_id AND u.uid = p_target
           AND d.status = 'active' AND d.push_permission = 1;
    ELSE
      INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
        SELECT v_message_id, d.id, d.app_id, p_priority, v_due
          FROM app_users u JOIN devices d ON d.app_user_id = u.id
         WHERE u.app_id = p_app_id AND u.email = p_target COLLATE utf8mb4_unicode_nopad_ci
           AND d.status = 'active' AND d.push_permission = 1;
  END CASE;
  SET v_count = ROW_COUNT();

  IF v_count = 0 THEN
    ROLLBACK;
    -- A live dedupe record answers as the first request did, devices or not.
    IF p_dedupe_key IS NOT NULL THEN
      SELECT push_count, target INTO v_replay, v_first_target FROM dedupe
       WHERE app_id = p_app_id AND dedupe_key = p_dedupe_key
         AND created_at >= NOW(6) - INTERVAL p_window_s SECOND;
    END IF;
    IF v_replay IS NOT NULL THEN
      SELECT v_replay, 1, 1, NULL, v_first_target;
    ELSE
      SELECT 0, 0, EXISTS (SELECT 1 FROM app_users u WHERE u.app_id = p_app_id AND
               CASE p_by WHEN 0 THEN u.external_id = p_target
                         WHEN 1 THEN u.uid = p_target
                         ELSE u.email = p_target COLLATE utf8mb4_unicode_nopad_ci END),
             NULL, NULL;
    END IF;
    LEAVE proc;
  END IF;

  IF p_dedupe_key IS NOT NULL THEN
    -- Affected rows: 1 inserted, 2 an expired record taken over, 0 a live one kept.
    -- A concurrent holder of the key makes this wait for its commit or rollback.
    INSERT INTO dedupe (app_id, dedupe_key, message_id, push_count, target, created_at)
      VALUES (p_app_id, p_dedupe_key, v_message_id, v_count, p_target, NOW(6))
      ON DUPLICATE KEY UPDATE
        message_id = IF(created_at < NOW(6) - INTERVAL p_window_s SECOND,
                        VALUES(message_id), message_id),
        push_count = IF(message_id = VALUES(message_id), VALUES(push_count), push_count),
        target = IF(message_id = VALUES(message_id), VALUES(target), target),
        created_at = IF(message_id = VALUES(message_id), VALUES(created_at), created_at);
    IF ROW_COUNT() = 0 THEN
      ROLLBACK;
      SELECT push_count, target INTO v_replay, v_first_target FROM dedupe
       WHERE app_id = p_app_id AND dedupe_key = p_dedupe_key;
      SELECT v_replay, 1, 1, NULL, v_first_target;
      LEAVE proc;
    END IF;
  END IF;

  -- Quotas, after dedupe so that a replay is not charged. The upsert adds the
  -- deliveries only while they fit: an unchanged row (ROW_COUNT() 0) means over.
  IF p_quota_hourly IS NOT NULL THEN
    IF v_count <= p_quota_hourly THEN
      INSERT INTO quota_usage (app_id, period, window_start, used)
        VALUES (p_app_id, 'hour', v_hour, v_count)
        ON DUPLICATE KEY UPDATE
          used = IF(used + VALUES(used) <= p_quota_hourly, used + VALUES(used), used);
    END IF;
    IF v_count > p_quota_hourly OR ROW_COUNT() = 0 THEN
      SET v_retry = TIMESTAMPDIFF(SECOND, v_now, v_hour + INTERVAL 1 HOUR);
    END IF;
  END IF;
  IF v_retry IS NULL AND p_quota_daily IS NOT NULL THEN
    IF v_count <= p_quota_daily THEN
      INSERT INTO quota_usage (app_id, period, window_start, used)
        VALUES (p_app_id, 'day', v_day, v_count)
        ON DUPLICATE KEY UPDATE
          used = IF(used + VALUES(used) <= p_quota_daily, used + VALUES(used), used);
    END IF;
    IF v_count > p_quota_daily OR ROW_COUNT() = 0 THEN
      SET v_retry = TIMESTAMPDIFF(SECOND, v_now, v_day + INTERVAL 1 DAY);
    END IF;
  END IF;
  IF v_retry IS NOT NULL THEN
    ROLLBACK;
    SELECT 0, 0, 1, GREATEST(v_retry, 1), NULL;
    LEAVE proc;
  END IF;
  COMMIT;
  SELECT v_count, 0, 1, NULL, NULL;
END //

DELIMITER ;
