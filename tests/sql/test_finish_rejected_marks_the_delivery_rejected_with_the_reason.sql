-- Behaviour: hd_finish_delivery with outcome 'rejected' makes the delivery 'rejected'
-- with the provider's status and reason and no lease, leaves its device active, and
-- the delivery is never claimed again.
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

  CALL hd_create_tenant(CONCAT('test-finish-rejected-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-rejected-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    VALUES (CONCAT(v_sfx, LPAD(1, 20, '0')), v_a, v_u, 'android', CONCAT(v_sfx, '-1'),
            UNHEX(SHA2(CONCAT(v_sfx, '-1'), 256)));
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'rejected', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;
  SET v_id = LAST_INSERT_ID();
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);

  CALL hd_finish_delivery(v_id, v_owner, 'rejected', 400, 'INVALID_ARGUMENT: message is too big', NULL, NULL, 5);

  IF NOT COALESCE((SELECT state = 'rejected' AND provider_status = 400
                          AND reason = 'INVALID_ARGUMENT: message is too big'
                          AND lease_owner IS NULL AND lease_until IS NULL
                     FROM deliveries WHERE id = v_id), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a rejected outcome did not make the delivery rejected with its status and reason';
  END IF;
  IF NOT COALESCE((SELECT status = 'active' FROM devices WHERE app_id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a rejected outcome changed the device';
  END IF;
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
  IF NOT COALESCE((SELECT state = 'rejected' AND attempts = 1 FROM deliveries WHERE id = v_id), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a rejected delivery was claimed again';
  END IF;
END //
DELIMITER ;
