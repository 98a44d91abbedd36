-- Behaviour: a sending delivery whose lease ran out (its worker crashed) is claimed
-- again: it moves to the new owner with a new lease, one more attempt and a new
-- last_attempt_at; a sending delivery whose lease is still running stays with its
-- owner, untouched; and the crashed worker's late report on the taken-over delivery
-- is refused as 'lost' without changing it.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_old_owner CHAR(32) DEFAULT LOWER(HEX(RANDOM_BYTES(16)));
  DECLARE v_owner CHAR(32) DEFAULT LOWER(HEX(RANDOM_BYTES(16)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_u BIGINT UNSIGNED;
  DECLARE v_m BIGINT UNSIGNED;
  DECLARE v_expired BIGINT UNSIGNED;

  CALL hd_create_tenant(CONCAT('test-claim-lease-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-claim-lease-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    SELECT CONCAT(v_sfx, LPAD(seq, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-', seq),
           UNHEX(SHA2(CONCAT(v_sfx, '-', seq), 256))
      FROM seq_1_to_2;
  INSERT INTO messages (app_id, source, title, schedule_at)
    VALUES (v_a, 'developer', 'lease', v_now - INTERVAL 10 MINUTE);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, priority, due_at, attempts,
                          last_attempt_at, lease_owner, lease_until, reason)
    SELECT v_m, v.id, v_a, 'sending', 5, v_now - INTERVAL 10 MINUTE, 2,
           v_now - INTERVAL 5 MINUTE, v_old_owner,
           IF(seq = 1, v_now - INTERVAL 1 SECOND, v_now + INTERVAL 1 MINUTE),
           IF(seq = 1, 'lease expired', 'lease live')
      FROM seq_1_to_2 JOIN devices v ON v.token = CONCAT(v_sfx, '-', seq) AND v.app_id = v_a;
  SET v_expired = (SELECT id FROM deliveries WHERE message_id = v_m AND reason = 'lease expired');

  CALL hd_claim_deliveries(v_owner, 60, 100, v_m);

  IF NOT COALESCE((SELECT state = 'sending' AND lease_owner = v_owner AND attempts = 3
                          AND last_attempt_at >= v_now
                          AND lease_until BETWEEN v_now + INTERVAL 59 SECOND AND v_now + INTERVAL 70 SECOND
                     FROM deliveries WHERE id = v_expired), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim did not take over the delivery whose lease ran out';
  END IF;
  IF NOT COALESCE((SELECT state = 'sending' AND lease_owner = v_old_owner AND attempts = 2
                          AND last_attempt_at = v_now - INTERVAL 5 MINUTE
                          AND lease_until = v_now + INTERVAL 1 MINUTE
                     FROM deliveries WHERE message_id = v_m AND reason = 'lease live'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim took or touched a delivery whose lease is still running';
  END IF;

  CALL hd_finish_delivery(v_expired, v_old_owner, 'delivered', 200, NULL, NULL, NULL, 5);
  IF NOT COALESCE((SELECT state = 'sending' AND lease_owner = v_owner AND provider_status IS NULL
                     FROM deliveries WHERE id = v_expired), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the crashed worker''s late report changed the taken-over delivery';
  END IF;
END //
DELIMITER ;
