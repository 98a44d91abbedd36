-- Behaviour: hd_finish_delivery with outcome 'retry' when the delivery has had
-- p_max_attempts attempts makes it 'rejected' with reason 'gave up after N attempts:
-- <provider reason>' (cut to 255 characters); one attempt below the limit, it is
-- queued again.
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
  DECLARE v_long VARCHAR(255) DEFAULT REPEAT('x', 255);

  CALL hd_create_tenant(CONCAT('test-finish-max-attempts-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-max-attempts-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    VALUES (CONCAT(v_sfx, LPAD(1, 20, '0')), v_a, v_u, 'windows', CONCAT(v_sfx, '-1'),
            UNHEX(SHA2(CONCAT(v_sfx, '-1'), 256)));
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'max attempts', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;
  SET v_id = LAST_INSERT_ID();

  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
  CALL hd_finish_delivery(v_id, v_owner, 'retry', 500, 'Internal Server Error', NULL, NULL, 2);
  IF NOT COALESCE((SELECT state = 'queued' AND attempts = 1 FROM deliveries WHERE id = v_id), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a retry below the attempt limit was not queued again';
  END IF;

  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
  CALL hd_finish_delivery(v_id, v_owner, 'retry', 500, 'Internal Server Error', NULL, NULL, 2);
  IF NOT COALESCE((SELECT state = 'rejected' AND attempts = 2 AND provider_status = 500
                          AND reason = 'gave up after 2 attempts: Internal Server Error'
                          AND lease_owner IS NULL
                     FROM deliveries WHERE id = v_id), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a retry at the attempt limit did not reject the delivery saying why';
  END IF;

  -- A long provider reason is cut, not refused.
  UPDATE deliveries SET state = 'queued', due_at = v_now WHERE id = v_id;
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
  CALL hd_finish_delivery(v_id, v_owner, 'retry', 500, v_long, NULL, NULL, 2);
  IF NOT COALESCE((SELECT state = 'rejected' AND CHAR_LENGTH(reason) = 255
                          AND reason LIKE 'gave up after 3 attempts: xxx%'
                     FROM deliveries WHERE id = v_id), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a long reason was not cut to 255 characters';
  END IF;
END //
DELIMITER ;
