-- Behaviour: hd_finish_delivered takes a JSON batch of [id, owner, status]: the
-- deliveries still 'sending' under that owner become 'delivered' with their status,
-- lease released and attempt recorded; an entry whose owner no longer holds the lease
-- changes nothing; a batch that is not a JSON array is refused.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_owner CHAR(32) DEFAULT LOWER(HEX(RANDOM_BYTES(16)));
  DECLARE v_stale CHAR(32) DEFAULT LOWER(HEX(RANDOM_BYTES(16)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_u BIGINT UNSIGNED;
  DECLARE v_m BIGINT UNSIGNED;
  DECLARE v_first BIGINT UNSIGNED;
  DECLARE v_refused TINYINT DEFAULT 0;

  CALL hd_create_tenant(CONCAT('test-finish-batch-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-batch-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    SELECT CONCAT(v_sfx, LPAD(seq, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-', seq),
           UNHEX(SHA2(CONCAT(v_sfx, '-', seq), 256))
      FROM seq_1_to_3;
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'batch', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a ORDER BY id;
  SET v_first = LAST_INSERT_ID();
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);

  -- The third entry names an owner that does not hold the lease.
  CALL hd_finish_delivered(JSON_ARRAY(JSON_ARRAY(v_first, v_owner, 200),
                                      JSON_ARRAY(v_first + 1, v_owner, 201),
                                      JSON_ARRAY(v_first + 2, v_stale, 200)));

  IF (SELECT COUNT(*) FROM deliveries
       WHERE message_id = v_m AND state = 'delivered' AND lease_owner IS NULL
         AND lease_until IS NULL AND reason IS NULL
         AND provider_status = IF(id = v_first, 200, 201)) <> 2 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the owner''s two deliveries were not recorded delivered with their statuses';
  END IF;
  IF NOT COALESCE((SELECT state = 'sending' AND lease_owner = v_owner
                     FROM deliveries WHERE id = v_first + 2), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'an entry whose owner lost the lease changed the delivery';
  END IF;
  IF (SELECT COUNT(*) FROM delivery_attempts
       WHERE delivery_id IN (v_first, v_first + 1) AND attempt = 1 AND outcome = 'delivered'
         AND finished_at IS NOT NULL) <> 2
     OR (SELECT COUNT(*) FROM delivery_attempts WHERE delivery_id = v_first + 2) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'attempts were not recorded for exactly the delivered ones';
  END IF;

  BEGIN
    DECLARE CONTINUE HANDLER FOR SQLSTATE '45000' SET v_refused = 1;
    CALL hd_finish_delivered('{"not": "an array"}');
  END;
  IF v_refused = 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a batch that is not a JSON array was accepted';
  END IF;
END //
DELIMITER ;
