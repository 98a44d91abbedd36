-- Behaviour: hd_claim_deliveries takes candidates highest priority first and, within
-- a priority, the longest due first: with a limit of 3 among five due deliveries of a
-- message (priorities 9, 5, 5, 5, 1), it takes the 9 and the two oldest 5s, and
-- leaves the newest 5 and the 1 queued and untouched.
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

  CALL hd_create_tenant(CONCAT('test-claim-order-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-claim-order-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    SELECT CONCAT(v_sfx, LPAD(seq, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-', seq),
           UNHEX(SHA2(CONCAT(v_sfx, '-', seq), 256))
      FROM seq_1_to_5;
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'order', v_now);
  SET v_m = LAST_INSERT_ID();
  -- reason names what the claim must do with each row.
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at, reason)
    SELECT v_m, v.id, v_a,
           ELT(seq, 9, 5, 5, 5, 1),
           v_now - INTERVAL ELT(seq, 1, 30, 20, 10, 60) SECOND,
           ELT(seq, 'take', 'take', 'take', 'leave', 'leave')
      FROM seq_1_to_5 JOIN devices v ON v.token = CONCAT(v_sfx, '-', seq) AND v.app_id = v_a;

  CALL hd_claim_deliveries(v_owner, 60, 3, v_m);

  IF NOT COALESCE((SELECT COUNT(*) FROM deliveries
                    WHERE message_id = v_m AND reason = 'take'
                      AND state = 'sending' AND lease_owner = v_owner AND attempts = 1) = 3, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim did not take the priority 9 and the two longest due priority 5 deliveries';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM deliveries
                    WHERE message_id = v_m AND reason = 'leave'
                      AND state = 'queued' AND lease_owner IS NULL AND attempts = 0) = 2, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim took a lower priority or a more recently due delivery';
  END IF;
END //
DELIMITER ;
