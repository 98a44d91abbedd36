-- Behaviour: hd_finish_delivery from a worker that does not hold the delivery (another
-- owner's lease, or a delivery no longer sending) changes nothing: not the delivery,
-- not its device (even for 'gone'), and records no attempt.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_owner CHAR(32) DEFAULT LOWER(HEX(RANDOM_BYTES(16)));
  DECLARE v_other CHAR(32) DEFAULT LOWER(HEX(RANDOM_BYTES(16)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_u BIGINT UNSIGNED;
  DECLARE v_m BIGINT UNSIGNED;
  DECLARE v_id BIGINT UNSIGNED;
  DECLARE v_before TEXT;

  CALL hd_create_tenant(CONCAT('test-finish-lost-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-lost-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash, last_active_at)
    VALUES (CONCAT(v_sfx, LPAD(1, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-1'),
            UNHEX(SHA2(CONCAT(v_sfx, '-1'), 256)), v_now - INTERVAL 1 DAY);
  INSERT INTO messages (app_id, source, title, ttl_s, schedule_at) VALUES (v_a, 'developer', 'lost', 0, v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;
  SET v_id = LAST_INSERT_ID();
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);

  SET v_before = (SELECT CONCAT_WS('|', d.state, d.attempts, d.lease_owner, d.lease_until, d.due_at,
                                   IFNULL(d.provider_status, '-'), IFNULL(d.reason, '-'), v.status)
                    FROM deliveries d JOIN devices v ON v.id = d.device_id WHERE d.id = v_id);

  CALL hd_finish_delivery(v_id, v_other, 'gone', 410, 'Unregistered', NULL, NULL, 5);
  CALL hd_finish_delivery(v_id, v_other, 'delivered', 200, NULL, NULL, NULL, 5);
  CALL hd_finish_delivery(v_id, v_other, 'retry', 503, 'busy', NULL, NULL, 5);
  CALL hd_finish_delivery(v_id, v_other, 'rejected', 400, 'bad', NULL, NULL, 5);

  IF NOT COALESCE((SELECT CONCAT_WS('|', d.state, d.attempts, d.lease_owner, d.lease_until, d.due_at,
                                    IFNULL(d.provider_status, '-'), IFNULL(d.reason, '-'), v.status)
                     FROM deliveries d JOIN devices v ON v.id = d.device_id WHERE d.id = v_id) = v_before, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'another worker''s report changed the delivery or its device';
  END IF;
  IF EXISTS (SELECT 1 FROM delivery_attempts WHERE delivery_id = v_id) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'another worker''s report recorded an attempt';
  END IF;

  -- Finished once by its owner, a second report of that owner changes nothing either.
  CALL hd_finish_delivery(v_id, v_owner, 'delivered', 200, NULL, NULL, NULL, 5);
  CALL hd_finish_delivery(v_id, v_owner, 'gone', 410, 'Unregistered', NULL, NULL, 5);
  IF NOT COALESCE((SELECT d.state = 'delivered' AND d.provider_status = 200 AND v.status = 'active'
                     FROM deliveries d JOIN devices v ON v.id = d.device_id WHERE d.id = v_id), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a second report on a finished delivery changed it';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM delivery_attempts WHERE delivery_id = v_id) = 1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a second report on a finished delivery recorded an attempt';
  END IF;
END //
DELIMITER ;
