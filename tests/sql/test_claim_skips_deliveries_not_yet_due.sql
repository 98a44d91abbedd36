-- Behaviour: hd_claim_deliveries takes a queued delivery only once it is due: of two
-- deliveries of a message, the one due a second ago becomes sending and the one due
-- in an hour (scheduled, or backing off) stays queued, untouched, whatever the limit.
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

  CALL hd_create_tenant(CONCAT('test-claim-due-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-claim-due-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    SELECT CONCAT(v_sfx, LPAD(seq, 20, '0')), v_a, v_u, 'android', CONCAT(v_sfx, '-', seq),
           UNHEX(SHA2(CONCAT(v_sfx, '-', seq), 256))
      FROM seq_1_to_2;
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'due', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at, reason)
    SELECT v_m, v.id, v_a, 10,
           IF(seq = 1, v_now - INTERVAL 1 SECOND, v_now + INTERVAL 1 HOUR),
           IF(seq = 1, 'due', 'later')
      FROM seq_1_to_2 JOIN devices v ON v.token = CONCAT(v_sfx, '-', seq) AND v.app_id = v_a;

  CALL hd_claim_deliveries(v_owner, 60, 100, v_m);

  IF NOT COALESCE((SELECT state = 'sending' AND lease_owner = v_owner FROM deliveries
                    WHERE message_id = v_m AND reason = 'due'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim did not take the due delivery';
  END IF;
  IF NOT COALESCE((SELECT state = 'queued' AND lease_owner IS NULL AND lease_until IS NULL
                          AND attempts = 0 AND last_attempt_at IS NULL
                     FROM deliveries WHERE message_id = v_m AND reason = 'later'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim took or touched a delivery due in an hour';
  END IF;
END //
DELIMITER ;
