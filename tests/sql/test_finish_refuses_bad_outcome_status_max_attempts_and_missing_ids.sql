-- Behaviour: hd_finish_delivery refuses an outcome other than delivered, retry, gone
-- or rejected (exact lowercase), a provider status outside 0..999, a retry without
-- a max attempts of at least 1, and a NULL delivery id or owner, with SQLSTATE 45000;
-- a refused report leaves the delivery sending under its owner.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_owner CHAR(32) DEFAULT LOWER(HEX(RANDOM_BYTES(16)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_u BIGINT UNSIGNED;
  DECLARE v_m BIGINT UNSIGNED;
  DECLARE v_id BIGINT UNSIGNED;

  CALL hd_create_tenant(CONCAT('test-finish-misuse-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-misuse-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    VALUES (CONCAT(v_sfx, LPAD(1, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-1'),
            UNHEX(SHA2(CONCAT(v_sfx, '-1'), 256)));
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'misuse', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;
  SET v_id = LAST_INSERT_ID();
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_finish_delivery(v_id, v_owner, 'expired', 200, NULL, NULL, NULL, 5);
  END;
  IF NOT COALESCE(v_err = 'hd_finish_delivery: bad outcome ''expired'' (want delivered, retry, gone or rejected)', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_finish_delivery accepted the outcome expired';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_finish_delivery(v_id, v_owner, 'Delivered', 200, NULL, NULL, NULL, 5);
  END;
  IF NOT COALESCE(v_err LIKE 'hd_finish_delivery: bad outcome ''Delivered''%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_finish_delivery accepted a capitalized outcome';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_finish_delivery(v_id, v_owner, NULL, 200, NULL, NULL, NULL, 5);
  END;
  IF NOT COALESCE(v_err LIKE 'hd_finish_delivery: bad outcome ''NULL''%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_finish_delivery accepted a NULL outcome';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_finish_delivery(v_id, v_owner, 'delivered', 1000, NULL, NULL, NULL, 5);
  END;
  IF NOT COALESCE(v_err = 'hd_finish_delivery: provider status must be 0..999 or NULL, not 1000', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_finish_delivery accepted a status of 1000';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_finish_delivery(v_id, v_owner, 'retry', 503, NULL, NULL, NULL, 0);
  END;
  IF NOT COALESCE(v_err = 'hd_finish_delivery: max attempts must be at least 1, not 0', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_finish_delivery accepted a retry with max attempts 0';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_finish_delivery(v_id, v_owner, 'retry', 503, NULL, NULL, NULL, NULL);
  END;
  IF NOT COALESCE(v_err = 'hd_finish_delivery: max attempts must be at least 1, not NULL', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_finish_delivery accepted a retry without max attempts';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_finish_delivery(v_id, NULL, 'delivered', 200, NULL, NULL, NULL, 5);
  END;
  IF NOT COALESCE(v_err = 'hd_finish_delivery: delivery id and owner are required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_finish_delivery accepted a NULL owner';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_finish_delivery(NULL, v_owner, 'delivered', 200, NULL, NULL, NULL, 5);
  END;
  IF NOT COALESCE(v_err = 'hd_finish_delivery: delivery id and owner are required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_finish_delivery accepted a NULL delivery id';
  END IF;

  IF NOT COALESCE((SELECT state = 'sending' AND lease_owner = v_owner AND provider_status IS NULL
                     FROM deliveries WHERE id = v_id), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_finish_delivery changed the delivery';
  END IF;
  IF EXISTS (SELECT 1 FROM delivery_attempts WHERE delivery_id = v_id) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_finish_delivery recorded an attempt';
  END IF;
END //
DELIMITER ;
