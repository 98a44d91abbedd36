-- Behaviour: hd_finish_delivery with outcome 'retry' below the attempt limit and
-- inside the message's TTL puts the delivery back to 'queued', due at p_retry_at
-- (or now when it is NULL), with the lease released and the status and reason kept;
-- it is claimed again only once due, as its next attempt.
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
  DECLARE v_later BIGINT UNSIGNED;
  DECLARE v_at_once BIGINT UNSIGNED;
  DECLARE v_retry_at DATETIME(6);

  SET v_retry_at = v_now + INTERVAL 90 SECOND;
  CALL hd_create_tenant(CONCAT('test-finish-retry-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-retry-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash)
    SELECT CONCAT(v_sfx, LPAD(seq, 20, '0')), v_a, v_u, 'web', CONCAT(v_sfx, '-', seq),
           UNHEX(SHA2(CONCAT(v_sfx, '-', seq), 256))
      FROM seq_1_to_2;
  INSERT INTO messages (app_id, source, title, ttl_s, schedule_at) VALUES (v_a, 'webpush', 'retry', 3600, v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;
  SET v_later = (SELECT MIN(id) FROM deliveries WHERE message_id = v_m);
  SET v_at_once = (SELECT MAX(id) FROM deliveries WHERE message_id = v_m);
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);

  CALL hd_finish_delivery(v_later, v_owner, 'retry', 429, 'too many requests', v_retry_at, NULL, 5);
  CALL hd_finish_delivery(v_at_once, v_owner, 'retry', NULL, 'connection reset', NULL, NULL, 5);

  IF NOT COALESCE((SELECT state = 'queued' AND due_at = v_retry_at AND attempts = 1
                          AND provider_status = 429 AND reason = 'too many requests'
                          AND lease_owner IS NULL AND lease_until IS NULL
                     FROM deliveries WHERE id = v_later), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a retry did not queue the delivery again due at the retry time';
  END IF;
  IF NOT COALESCE((SELECT state = 'queued' AND due_at BETWEEN v_now AND UTC_TIMESTAMP(6)
                          AND provider_status IS NULL AND reason = 'connection reset'
                     FROM deliveries WHERE id = v_at_once), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a retry without a time did not queue the delivery due now';
  END IF;

  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);
  IF NOT COALESCE((SELECT state = 'queued' AND attempts = 1 FROM deliveries WHERE id = v_later), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a delivery to retry in 90 s was claimed at once';
  END IF;
  IF NOT COALESCE((SELECT state = 'sending' AND attempts = 2 AND lease_owner = v_owner
                     FROM deliveries WHERE id = v_at_once), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a delivery to retry now was not claimed as its second attempt';
  END IF;
END //
DELIMITER ;
