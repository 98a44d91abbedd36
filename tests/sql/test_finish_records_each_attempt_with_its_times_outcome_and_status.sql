-- Behaviour: every hd_finish_delivery by the owner records one delivery_attempts row:
-- attempt = the delivery's attempt count, started_at = when the claim took it
-- (last_attempt_at), finished_at = the report's time, the outcome as reported (retry,
-- not the resulting state), provider status and reason; hd_delivery_attempts shows
-- them with the delivery's message, app and device.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_owner CHAR(32) DEFAULT LOWER(HEX(RANDOM_BYTES(16)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_u BIGINT UNSIGNED;
  DECLARE v_m BIGINT UNSIGNED;
  DECLARE v_id BIGINT UNSIGNED;
  DECLARE v_started1 DATETIME(6);
  DECLARE v_started2 DATETIME(6);

  CALL hd_create_tenant(CONCAT('test-finish-attempts-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-attempts-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    VALUES (CONCAT(v_sfx, LPAD(1, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-1'),
            UNHEX(SHA2(CONCAT(v_sfx, '-1'), 256)));
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'attempts', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;
  SET v_id = LAST_INSERT_ID();

  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
  SET v_started1 = (SELECT last_attempt_at FROM deliveries WHERE id = v_id);
  CALL hd_finish_delivery(v_id, v_owner, 'retry', 503, 'Service Unavailable', NULL, NULL, 5);
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
  SET v_started2 = (SELECT last_attempt_at FROM deliveries WHERE id = v_id);
  CALL hd_finish_delivery(v_id, v_owner, 'delivered', 200, NULL, NULL, NULL, 5);

  IF NOT COALESCE(v_started1 >= v_now AND v_started2 >= v_started1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a claim did not set last_attempt_at';
  END IF;
  IF NOT COALESCE((SELECT started_at = v_started1 AND finished_at >= started_at
                          AND finished_at <= UTC_TIMESTAMP(6)
                          AND outcome = 'retry' AND provider_status = 503 AND reason = 'Service Unavailable'
                     FROM delivery_attempts WHERE delivery_id = v_id AND attempt = 1), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the first attempt was not recorded as it happened';
  END IF;
  IF NOT COALESCE((SELECT started_at = v_started2 AND finished_at >= started_at
                          AND outcome = 'delivered' AND provider_status = 200 AND reason IS NULL
                     FROM delivery_attempts WHERE delivery_id = v_id AND attempt = 2), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the second attempt was not recorded as it happened';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM delivery_attempts WHERE delivery_id = v_id) = 2, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'two attempts did not make exactly two records';
  END IF;
  IF NOT COALESCE((SELECT GROUP_CONCAT(CONCAT_WS(':', attempt, outcome, provider_status, delivery_state)
                                       ORDER BY attempt SEPARATOR ',')
                     FROM hd_delivery_attempts
                    WHERE message_id = v_m AND app_uid = v_app_uid AND platform = 'ios'
                      AND device_uid = CONCAT(v_sfx, LPAD(1, 20, '0')) AND duration_ms >= 0)
                  = '1:retry:503:delivered,2:delivered:200:delivered', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_delivery_attempts does not show the attempts of the delivery';
  END IF;
END //
DELIMITER ;
