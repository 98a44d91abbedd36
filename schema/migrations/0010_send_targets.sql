-- 0010: one message to a list of targets (lib/send/hd_send_targets.h).
--
-- The audience, webpush and inbox dialects name their recipients as lists: up to a
-- thousand audience elements, each with several identifiers; every web client of a
-- service; an inbox user. hd_send_targets resolves such a list to the app's devices,
-- each device once, and stores the message with its deliveries in one transaction,
-- set-based: the list arrives as one JSON text read with JSON_TABLE, and each kind of
-- identifier is one INSERT ... SELECT that uses its index.
--
-- Devices carry the advertising and vendor identifiers the audience dialect finds
-- them by (seed 001's platform pages). app_users.id is herald's numeric user id.
-- inbox_items holds a stored notification per inbox user (the inbox dialect's rows).
--
-- Safe to apply again (IF NOT EXISTS / CREATE OR REPLACE).

ALTER TABLE devices
  ADD COLUMN IF NOT EXISTS idfa           VARCHAR(128) NULL AFTER info,
  ADD COLUMN IF NOT EXISTS idfv           VARCHAR(128) NULL AFTER idfa,
  ADD COLUMN IF NOT EXISTS advertising_id VARCHAR(128) NULL AFTER idfv,
  ADD COLUMN IF NOT EXISTS android_id     VARCHAR(128) NULL AFTER advertising_id,
  ADD COLUMN IF NOT EXISTS serial_id      VARCHAR(128) NULL AFTER android_id,
  ADD KEY IF NOT EXISTS devices_idfa (app_id, idfa),
  ADD KEY IF NOT EXISTS devices_idfv (app_id, idfv),
  ADD KEY IF NOT EXISTS devices_advertising_id (app_id, advertising_id),
  ADD KEY IF NOT EXISTS devices_android_id (app_id, android_id),
  ADD KEY IF NOT EXISTS devices_serial_id (app_id, serial_id);

-- One row per user whose inbox holds the message. Deleting an item deletes its row.
CREATE TABLE IF NOT EXISTS inbox_items (
  message_id   BIGINT UNSIGNED NOT NULL,
  app_user_id  BIGINT UNSIGNED NOT NULL,
  app_id       BIGINT UNSIGNED NOT NULL,
  created_at   DATETIME(6) NOT NULL,
  read_at      DATETIME(6) NULL,
  PRIMARY KEY (message_id, app_user_id),
  KEY inbox_items_user (app_user_id, message_id),
  KEY inbox_items_app (app_id, created_at),
  CONSTRAINT inbox_items_message_fk FOREIGN KEY (message_id) REFERENCES messages (id),
  CONSTRAINT inbox_items_user_fk FOREIGN KEY (app_user_id) REFERENCES app_users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

DELIMITER //

-- Stores one message for the devices p_targets names in app p_app_id.
--   p_targets: a JSON array of {"g": group, "k": kind, "p": platforms, "v": value}.
--     kind: 0 every device of the app, 1 devices.uid, 2 devices.token, 3 idfa, 4 idfv,
--     5 advertising_id, 6 android_id, 7 serial_id, 8 app_users.external_id,
--     9 app_users.uid, 10 app_users.id, 11 app_users.email (every user with it).
--     platforms: bits 1 ios, 2 android, 4 web, 8 windows the devices must be on; 0 any.
--     group: the caller's grouping of items (one audience element), counted apart.
--   Only active devices with push permission receive it, each once.
--   p_inbox: the message is stored even without devices, with an inbox_items row per
--     user the items name; p_no_push: no deliveries (an inbox-only notification).
--   Dedupe by (app, p_dedupe_key) within p_window_s; the quotas are charged the
--     deliveries and refuse the send whole.
-- Returns one row: message_id (NULL: nothing stored and no replay), push_count,
-- replayed (0/1), users (distinct users named: user kinds by the users that exist,
-- device kinds by the owners of the devices found), the seconds until a quota window
-- ends when a quota refused it (else NULL), and a JSON object of the distinct devices
-- per group ({"0": 2, ...}; groups without devices absent). A deadlock (Galera: a
-- certification conflict) rolls back and signals 1213: the caller reruns the call.
CREATE OR REPLACE PROCEDURE hd_send_targets(
  IN p_app_id BIGINT UNSIGNED,
  IN p_source VARCHAR(16),
  IN p_targets LONGTEXT CHARACTER SET utf8mb4,
  IN p_title VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_body TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_data TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_sound VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_ttl_s INT UNSIGNED,
  IN p_priority TINYINT UNSIGNED,
  IN p_schedule_at DATETIME(6),
  IN p_campaign VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_extras TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_dedupe_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_window_s INT UNSIGNED,
  IN p_quota_hourly INT UNSIGNED,
  IN p_quota_daily INT UNSIGNED,
  IN p_inbox TINYINT UNSIGNED,
  IN p_no_push TINYINT UNSIGNED)
proc: BEGIN
  DECLARE v_due DATETIME(6) DEFAULT COALESCE(p_schedule_at, NOW(6));
  DECLARE v_message_id BIGINT UNSIGNED;
  DECLARE v_count, v_users, v_store INT UNSIGNED DEFAULT 0;
  DECLARE v_replay_id BIGINT UNSIGNED DEFAULT NULL;
  DECLARE v_replay_count INT UNSIGNED DEFAULT NULL;
  DECLARE v_groups TEXT CHARACTER SET utf8mb4;
  DECLARE v_now DATETIME DEFAULT UTC_TIMESTAMP();
  DECLARE v_hour DATETIME DEFAULT DATE_FORMAT(v_now, '%Y-%m-%d %H:00:00');
  DECLARE v_day DATETIME DEFAULT DATE(v_now);
  DECLARE v_retry INT UNSIGNED DEFAULT NULL;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_replay_id = NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;

  -- Work tables, created once per connection and emptied per call (see hd_sb in
  -- 0008). A later migration that changes their columns must rename them.
  CREATE TEMPORARY TABLE IF NOT EXISTS hd_st_items (
    g   INT UNSIGNED NOT NULL,
    k   TINYINT UNSIGNED NOT NULL,
    pf  TINYINT UNSIGNED NOT NULL,
    v   VARCHAR(2048) NOT NULL,
    vh  BINARY(32) NULL,
    KEY (k)
  ) ENGINE=MEMORY DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
  CREATE TEMPORARY TABLE IF NOT EXISTS hd_st_devices (
    g          INT UNSIGNED NOT NULL,
    device_id  BIGINT UNSIGNED NOT NULL,
    user_id    BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (g, device_id)
  ) ENGINE=MEMORY;
  CREATE TEMPORARY TABLE IF NOT EXISTS hd_st_named (
    g          INT UNSIGNED NOT NULL,
    pf         TINYINT UNSIGNED NOT NULL,
    user_id    BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (g, pf, user_id)
  ) ENGINE=MEMORY;
  CREATE TEMPORARY TABLE IF NOT EXISTS hd_st_users (
    user_id    BIGINT UNSIGNED NOT NULL PRIMARY KEY
  ) ENGINE=MEMORY;
  DELETE FROM hd_st_items;
  DELETE FROM hd_st_devices;
  DELETE FROM hd_st_named;
  DELETE FROM hd_st_users;

  INSERT INTO hd_st_items (g, k, pf, v, vh)
    SELECT j.g, j.k, COALESCE(j.p, 0), COALESCE(j.v, ''),
           IF(j.k = 2, UNHEX(SHA2(COALESCE(j.v, ''), 256)), NULL)
      FROM JSON_TABLE(p_targets, '$[*]' COLUMNS (
             g INT UNSIGNED PATH '$.g',
             k TINYINT UNSIGNED PATH '$.k',
             p TINYINT UNSIGNED PATH '$.p',
             v VARCHAR(2048) PATH '$.v')) j;

  -- Devices, one statement per kind of identifier so that each uses its index. The
  -- platform bit of a device is 1 << (its ENUM index - 1).
  INSERT IGNORE INTO hd_st_devices (g, device_id, user_id)
    SELECT i.g, d.id, d.app_user_id FROM hd_st_items i JOIN devices d
        ON d.app_id = p_app_id AND d.status = 'active' AND d.push_permission = 1
     WHERE i.k = 0 AND (i.pf = 0 OR i.pf & (1 << (d.platform + 0 - 1)));
  INSERT IGNORE INTO hd_st_devices (g, device_id, user_id)
    SELECT i.g, d.id, d.app_user_id FROM hd_st_items i JOIN devices d
        ON d.uid = i.v AND d.app_id = p_app_id
     WHERE i.k = 1 AND d.status = 'active' AND d.push_permission = 1
       AND (i.pf = 0 OR i.pf & (1 << (d.platform + 0 - 1)));
  INSERT IGNORE INTO hd_st_devices (g, device_id, user_id)
    SELECT i.g, d.id, d.app_user_id FROM hd_st_items i JOIN devices d
        ON d.app_id = p_app_id AND d.token_hash = i.vh
     WHERE i.k = 2 AND d.status = 'active' AND d.push_permission = 1
       AND (i.pf = 0 OR i.pf & (1 << (d.platform + 0 - 1)));
  INSERT IGNORE INTO hd_st_devices (g, device_id, user_id)
    SELECT i.g, d.id, d.app_user_id FROM hd_st_items i JOIN devices d
        ON d.app_id = p_app_id AND d.idfa = i.v
     WHERE i.k = 3 AND d.status = 'active' AND d.push_permission = 1
       AND (i.pf = 0 OR i.pf & (1 << (d.platform + 0 - 1)));
  INSERT IGNORE INTO hd_st_devices (g, device_id, user_id)
    SELECT i.g, d.id, d.app_user_id FROM hd_st_items i JOIN devices d
        ON d.app_id = p_app_id AND d.idfv = i.v
     WHERE i.k = 4 AND d.status = 'active' AND d.push_permission = 1
       AND (i.pf = 0 OR i.pf & (1 << (d.platform + 0 - 1)));
  INSERT IGNORE INTO hd_st_devices (g, device_id, user_id)
    SELECT i.g, d.id, d.app_user_id FROM hd_st_items i JOIN devices d
        ON d.app_id = p_app_id AND d.advertising_id = i.v
     WHERE i.k = 5 AND d.status = 'active' AND d.push_permission = 1
       AND (i.pf = 0 OR i.pf & (1 << (d.platform + 0 - 1)));
  INSERT IGNORE INTO hd_st_devices (g, device_id, user_id)
    SELECT i.g, d.id, d.app_user_id FROM hd_st_items i JOIN devices d
        ON d.app_id = p_app_id AND d.android_id = i.v
     WHERE i.k = 6 AND d.status = 'active' AND d.push_permission = 1
       AND (i.pf = 0 OR i.pf & (1 << (d.platform + 0 - 1)));
  INSERT IGNORE INTO hd_st_devices (g, device_id, user_id)
    SELECT i.g, d.id, d.app_user_id FROM hd_st_items i JOIN devices d
        ON d.app_id = p_app_id AND d.serial_id = i.v
     WHERE i.k = 7 AND d.status = 'active' AND d.push_permission = 1
       AND (i.pf = 0 OR i.pf & (1 << (d.platform + 0 - 1)));

  -- Users named directly (one statement per kind, each on its index), then their
  -- devices on the platforms their item asks for.
  INSERT IGNORE INTO hd_st_named (g, pf, user_id)
    SELECT i.g, i.pf, u.id FROM hd_st_items i JOIN app_users u
        ON u.app_id = p_app_id AND u.external_id = i.v WHERE i.k = 8;
  INSERT IGNORE INTO hd_st_named (g, pf, user_id)
    SELECT i.g, i.pf, u.id FROM hd_st_items i JOIN app_users u
        ON u.uid = i.v AND u.app_id = p_app_id WHERE i.k = 9;
  INSERT IGNORE INTO hd_st_named (g, pf, user_id)
    SELECT i.g, i.pf, u.id FROM hd_st_items i JOIN app_users u
        ON u.id = CAST(i.v AS UNSIGNED) AND u.app_id = p_app_id
     WHERE i.k = 10 AND i.v RLIKE '^[0-9]{1,19}$';
  INSERT IGNORE INTO hd_st_named (g, pf, user_id)
    SELECT i.g, i.pf, u.id FROM hd_st_items i JOIN app_users u
        ON u.app_id = p_app_id AND u.email = i.v COLLATE utf8mb4_unicode_nopad_ci
     WHERE i.k = 11;
  INSERT IGNORE INTO hd_st_devices (g, device_id, user_id)
    SELECT n.g, d.id, n.user_id FROM hd_st_named n JOIN devices d ON d.app_user_id = n.user_id
     WHERE d.status = 'active' AND d.push_permission = 1
       AND (n.pf = 0 OR n.pf & (1 << (d.platform + 0 - 1)));
  INSERT IGNORE INTO hd_st_users (user_id) SELECT user_id FROM hd_st_named;
  INSERT IGNORE INTO hd_st_users (user_id) SELECT user_id FROM hd_st_devices;

  SELECT COUNT(DISTINCT device_id) INTO v_count FROM hd_st_devices;
  SELECT COUNT(*) INTO v_users FROM hd_st_users;
  SELECT JSON_OBJECTAGG(g, n) INTO v_groups
    FROM (SELECT g, COUNT(*) AS n FROM hd_st_devices GROUP BY g) c;
  IF p_no_push THEN
    SET v_count = 0;
  END IF;
  SET v_store = v_count > 0 OR (p_inbox AND v_users > 0);

  IF NOT v_store THEN
    -- A live dedupe record answers as the first request did, devices or not.
    IF p_dedupe_key IS NOT NULL THEN
      SELECT message_id, push_count INTO v_replay_id, v_replay_count FROM dedupe
       WHERE app_id = p_app_id AND dedupe_key = p_dedupe_key
         AND created_at >= NOW(6) - INTERVAL p_window_s SECOND;
    END IF;
    IF v_replay_id IS NOT NULL THEN
      SELECT v_replay_id, v_replay_count, 1, v_users, NULL, v_groups;
    ELSE
      SELECT NULL, 0, 0, v_users, NULL, v_groups;
    END IF;
    LEAVE proc;
  END IF;

  START TRANSACTION;
  INSERT INTO messages (app_id, app_user_id, source, title, body, data, sound, extras,
                        ttl_s, priority, schedule_at, dedupe_key, campaign)
    VALUES (p_app_id, IF(v_users = 1, (SELECT user_id FROM hd_st_users), NULL), p_source,
            p_title, p_body, p_data, p_sound, p_extras, p_ttl_s, p_priority, v_due,
            p_dedupe_key, p_campaign);
  SET v_message_id = LAST_INSERT_ID();
  IF v_count > 0 THEN
    INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
      SELECT DISTINCT v_message_id, device_id, p_app_id, p_priority, v_due FROM hd_st_devices;
  END IF;
  IF p_inbox THEN
    INSERT INTO inbox_items (message_id, app_user_id, app_id, created_at)
      SELECT v_message_id, user_id, p_app_id, NOW(6) FROM hd_st_users;
  END IF;

  IF p_dedupe_key IS NOT NULL THEN
    -- Affected rows: 1 inserted, 2 an expired record taken over, 0 a live one kept.
    -- A concurrent holder of the key makes this wait for its commit or rollback.
    INSERT INTO dedupe (app_id, dedupe_key, message_id, push_count, target, created_at)
      VALUES (p_app_id, p_dedupe_key, v_message_id, v_count, '', NOW(6))
      ON DUPLICATE KEY UPDATE
        message_id = IF(created_at < NOW(6) - INTERVAL p_window_s SECOND,
                        VALUES(message_id), message_id),
        push_count = IF(message_id = VALUES(message_id), VALUES(push_count), push_count),
        target = IF(message_id = VALUES(message_id), VALUES(target), target),
        created_at = IF(message_id = VALUES(message_id), VALUES(created_at), created_at);
    IF ROW_COUNT() = 0 THEN
      ROLLBACK;
      SELECT message_id, push_count INTO v_replay_id, v_replay_count FROM dedupe
       WHERE app_id = p_app_id AND dedupe_key = p_dedupe_key;
      SELECT v_replay_id, v_replay_count, 1, v_users, NULL, v_groups;
      LEAVE proc;
    END IF;
  END IF;

  -- Quotas, after dedupe so that a replay is not charged; as in hd_queue_message, the
  -- upsert adds the deliveries only while they fit, so an unchanged row means over.
  IF p_quota_hourly IS NOT NULL AND v_count > 0 THEN
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
  IF v_retry IS NULL AND p_quota_daily IS NOT NULL AND v_count > 0 THEN
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
    SELECT NULL, 0, 0, v_users, GREATEST(v_retry, 1), v_groups;
    LEAVE proc;
  END IF;
  COMMIT;
  SELECT v_message_id, v_count, 0, v_users, NULL, v_groups;
END //

DELIMITER ;
