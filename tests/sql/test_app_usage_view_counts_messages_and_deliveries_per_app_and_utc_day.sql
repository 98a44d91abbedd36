-- Behaviour: hd_app_usage has one row per app and UTC day with the messages created
-- that day, their deliveries, and those deliveries by state: delivered, gone,
-- rejected, expired, and pending (queued + sending). Messages without deliveries
-- count as messages; another app's rows stay apart.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_yday DATETIME(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_b BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_user BIGINT UNSIGNED;
  DECLARE v_d1 BIGINT UNSIGNED;
  DECLARE v_d2 BIGINT UNSIGNED;
  DECLARE v_d3 BIGINT UNSIGNED;
  DECLARE v_m BIGINT UNSIGNED;

  SET v_yday = v_now - INTERVAL 1 DAY;
  CALL hd_create_tenant(CONCAT('test-usage-view-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-usage-view-a-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-usage-view-b-', v_sfx), v_b, v_app_uid);
  CALL hd_create_app_user(v_a, 'viewer', NULL, v_user_uid);
  SET v_user = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
  VALUES (LOWER(HEX(RANDOM_BYTES(16))), v_a, v_user, 'android', CONCAT('tok1-', v_sfx), UNHEX(SHA2(CONCAT('tok1-', v_sfx), 256)));
  SET v_d1 = LAST_INSERT_ID();
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
  VALUES (LOWER(HEX(RANDOM_BYTES(16))), v_a, v_user, 'ios', CONCAT('tok2-', v_sfx), UNHEX(SHA2(CONCAT('tok2-', v_sfx), 256)));
  SET v_d2 = LAST_INSERT_ID();
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
  VALUES (LOWER(HEX(RANDOM_BYTES(16))), v_a, v_user, 'windows', CONCAT('tok3-', v_sfx), UNHEX(SHA2(CONCAT('tok3-', v_sfx), 256)));
  SET v_d3 = LAST_INSERT_ID();

  -- Yesterday (UTC): 3 messages, 5 deliveries: delivered, gone, rejected, expired, queued.
  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'developer', 'y1', v_yday, v_yday);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at) VALUES
    (v_m, v_d1, v_a, 'delivered', v_yday), (v_m, v_d2, v_a, 'gone', v_yday), (v_m, v_d3, v_a, 'rejected', v_yday);
  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'webpush', 'y2', v_yday, v_yday);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at) VALUES
    (v_m, v_d1, v_a, 'expired', v_yday), (v_m, v_d2, v_a, 'queued', v_yday);
  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'inbox', 'y3 stored only', v_yday, v_yday);

  -- Today (UTC): 1 message, 3 deliveries: sending, delivered, delivered.
  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'audience', 't1', v_now, v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at) VALUES
    (v_m, v_d1, v_a, 'sending', v_now), (v_m, v_d2, v_a, 'delivered', v_now), (v_m, v_d3, v_a, 'delivered', v_now);

  -- App B, today: 2 messages, 1 delivery, delivered.
  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_b, 'legacy', 'b1', v_now, v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at) VALUES (v_m, v_d1, v_b, 'delivered', v_now);
  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_b, 'legacy', 'b2', v_now, v_now);

  IF NOT COALESCE((SELECT COUNT(*) FROM hd_app_usage WHERE app_id = v_a) = 2, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_app_usage does not have exactly two days for app A';
  END IF;
  IF NOT COALESCE((SELECT tenant_id = v_t AND app_uid = (SELECT uid FROM apps WHERE id = v_a)
                          AND messages = 3 AND deliveries = 5 AND delivered = 1 AND gone = 1
                          AND rejected = 1 AND expired = 1 AND pending = 1
                     FROM hd_app_usage WHERE app_id = v_a AND day = DATE(v_yday)), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_app_usage counts for app A yesterday are wrong';
  END IF;
  IF NOT COALESCE((SELECT messages = 1 AND deliveries = 3 AND delivered = 2 AND gone = 0
                          AND rejected = 0 AND expired = 0 AND pending = 1
                     FROM hd_app_usage WHERE app_id = v_a AND day = DATE(v_now)), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_app_usage counts for app A today are wrong';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) = 1 AND SUM(messages) = 2 AND SUM(deliveries) = 1 AND SUM(delivered) = 1
                          AND SUM(pending) = 0 AND MIN(day) = DATE(v_now)
                     FROM hd_app_usage WHERE app_id = v_b), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_app_usage counts for app B are wrong';
  END IF;
END //
DELIMITER ;
