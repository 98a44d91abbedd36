-- Behaviour: hd_finish_delivery with outcome 'retry' whose retry time (p_retry_at,
-- or now when NULL) falls after the message's expiry (schedule_at + ttl_s) makes the
-- delivery 'expired' instead of queueing it; with TTL 0 every retry expires, and a
-- retry time exactly at the expiry, or a message without TTL, still queues it.
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
  DECLARE v_id BIGINT UNSIGNED;
  DECLARE v_i INT DEFAULT 1;
  DECLARE v_why VARCHAR(200);

  CALL hd_create_tenant(CONCAT('test-finish-retry-expiry-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-retry-expiry-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    VALUES (CONCAT(v_sfx, LPAD(1, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-1'),
            UNHEX(SHA2(CONCAT(v_sfx, '-1'), 256)));
  SET v_d = LAST_INSERT_ID();

  -- Each message: scheduled now, TTL, retry time; the title is the expected state.
  WHILE v_i <= 5 DO
    INSERT INTO messages (app_id, source, title, ttl_s, schedule_at)
      VALUES (v_a, 'developer', ELT(v_i, 'expired', 'expired', 'queued', 'expired', 'queued'),
              ELT(v_i, 60, 60, 60, 0, NULL), v_now);
    SET v_m = LAST_INSERT_ID();
    INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
      VALUES (v_m, v_d, v_a, 5, v_now);
    SET v_id = LAST_INSERT_ID();
    CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
    CALL hd_finish_delivery(v_id, v_owner, 'retry', 503, 'Service Unavailable',
                            CASE v_i
                              WHEN 1 THEN v_now + INTERVAL 61 SECOND
                              WHEN 2 THEN v_now + INTERVAL 60 SECOND + INTERVAL 1 MICROSECOND
                              WHEN 3 THEN v_now + INTERVAL 60 SECOND
                              WHEN 4 THEN NULL
                              ELSE v_now + INTERVAL 1 YEAR
                            END, NULL, 5);
    SET v_i = v_i + 1;
  END WHILE;

  SET v_why = (SELECT CONCAT('ttl ', IFNULL(m.ttl_s, 'NULL'), ': delivery ', d.state, ', want ', m.title)
                 FROM messages m JOIN deliveries d ON d.message_id = m.id
                WHERE m.app_id = v_a AND d.state <> m.title LIMIT 1);
  IF v_why IS NOT NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                    WHERE m.app_id = v_a AND d.state = 'expired' AND d.lease_owner IS NULL
                      AND d.reason = 'ttl expired while retrying: Service Unavailable') = 3, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'an expired retry did not say why or kept its lease';
  END IF;
END //
DELIMITER ;
