-- Behaviour: hd_claim_deliveries refuses an empty or NULL owner, a lease outside
-- 1..86400 seconds, a limit outside 1..100000, and being called inside a transaction
-- (it commits its claim itself), with SQLSTATE 45000; a refusal claims nothing, and
-- the refusal inside a transaction leaves the caller's transaction open with its work.
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

  CALL hd_create_tenant(CONCAT('test-claim-misuse-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-claim-misuse-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    VALUES (CONCAT(v_sfx, LPAD(1, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-1'),
            UNHEX(SHA2(CONCAT(v_sfx, '-1'), 256)));
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'misuse', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_claim_deliveries(NULL, 60, 10, v_m);
  END;
  IF NOT COALESCE(v_err = 'hd_claim_deliveries: owner must not be empty', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_claim_deliveries accepted a NULL owner';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_claim_deliveries('  ', 60, 10, v_m);
  END;
  IF NOT COALESCE(v_err = 'hd_claim_deliveries: owner must not be empty', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_claim_deliveries accepted a blank owner';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_claim_deliveries(v_owner, 0, 10, v_m);
  END;
  IF NOT COALESCE(v_err = 'hd_claim_deliveries: lease must be 1..86400 seconds, not 0', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_claim_deliveries accepted a lease of 0 s';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_claim_deliveries(v_owner, 86401, 10, v_m);
  END;
  IF NOT COALESCE(v_err = 'hd_claim_deliveries: lease must be 1..86400 seconds, not 86401', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_claim_deliveries accepted a lease over a day';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_claim_deliveries(v_owner, 60, 0, v_m);
  END;
  IF NOT COALESCE(v_err = 'hd_claim_deliveries: limit must be 1..100000, not 0', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_claim_deliveries accepted a limit of 0';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_claim_deliveries(v_owner, 60, NULL, v_m);
  END;
  IF NOT COALESCE(v_err = 'hd_claim_deliveries: limit must be 1..100000, not NULL', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_claim_deliveries accepted a NULL limit';
  END IF;

  -- Inside a transaction: refused, and the caller's uncommitted insert survives it.
  SET v_err = NULL;
  START TRANSACTION;
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'caller''s work', v_now);
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
  END;
  IF NOT COALESCE(v_err = 'hd_claim_deliveries: call it outside a transaction (it commits its claim)', FALSE) THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_claim_deliveries ran inside a transaction';
  END IF;
  IF NOT @@in_transaction OR NOT EXISTS (SELECT 1 FROM messages WHERE app_id = v_a AND title = 'caller''s work') THEN
    ROLLBACK;
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_claim_deliveries ended the caller''s transaction';
  END IF;
  ROLLBACK;

  IF NOT COALESCE((SELECT state = 'queued' AND attempts = 0 AND lease_owner IS NULL
                     FROM deliveries WHERE message_id = v_m), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_claim_deliveries claimed the delivery';
  END IF;
END //
DELIMITER ;
