-- Behaviour: at claim time, a delivery of a message whose TTL has passed
-- (schedule_at + ttl_s before now) becomes 'expired' with reason 'ttl expired before
-- delivery', no attempt and no lease; deliveries of a message still inside its TTL,
-- of a message with TTL 0 ("now or never": the provider decides) and of a message
-- without TTL are claimed.
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
  DECLARE v_d BIGINT UNSIGNED;
  DECLARE v_m BIGINT UNSIGNED;
  DECLARE v_i INT DEFAULT 1;

  CALL hd_create_tenant(CONCAT('test-claim-ttl-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-claim-ttl-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    VALUES (CONCAT(v_sfx, LPAD(1, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-1'),
            UNHEX(SHA2(CONCAT(v_sfx, '-1'), 256)));
  SET v_d = LAST_INSERT_ID();

  -- Four messages scheduled an hour ago; the title says what the claim must do.
  WHILE v_i <= 4 DO
    INSERT INTO messages (app_id, source, title, ttl_s, schedule_at)
      VALUES (v_a, 'developer',
              ELT(v_i, 'expire: ttl 3599 s', 'claim: ttl 3700 s', 'claim: ttl 0', 'claim: no ttl'),
              ELT(v_i, 3599, 3700, 0, NULL), v_now - INTERVAL 1 HOUR);
    SET v_m = LAST_INSERT_ID();
    INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
      VALUES (v_m, v_d, v_a, 5, v_now - INTERVAL 1 HOUR);
    CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
    SET v_i = v_i + 1;
  END WHILE;

  IF NOT COALESCE((SELECT d.state = 'expired' AND d.reason = 'ttl expired before delivery'
                          AND d.attempts = 0 AND d.lease_owner IS NULL AND d.lease_until IS NULL
                     FROM deliveries d JOIN messages m ON m.id = d.message_id
                    WHERE m.app_id = v_a AND m.title = 'expire: ttl 3599 s'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim did not expire the delivery of a message past its TTL';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                    WHERE m.app_id = v_a AND m.title LIKE 'claim:%'
                      AND d.state = 'sending' AND d.lease_owner = v_owner) = 3, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim did not take deliveries inside their TTL, with TTL 0 or without TTL';
  END IF;
END //
DELIMITER ;
