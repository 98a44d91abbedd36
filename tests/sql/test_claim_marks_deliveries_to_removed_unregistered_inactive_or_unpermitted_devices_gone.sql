-- Behaviour: at claim time, a delivery whose device row is missing or unregistered
-- becomes 'gone' with reason 'device unregistered', one whose device is otherwise
-- not active (inactive, expired) 'gone' with 'device not active', and one whose
-- device withdrew push permission 'gone' with 'device has no push permission'; none
-- of them gets an attempt or a lease, and the device rows are left as they were.
-- Only the delivery to the active, permitted device is claimed.
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
  DECLARE v_missing BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM devices);
  DECLARE v_why VARCHAR(200);

  CALL hd_create_tenant(CONCAT('test-claim-gone-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-claim-gone-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  -- info holds the reason each device's delivery must end with ('' = claimed).
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash, status,
                       push_permission, info)
    SELECT CONCAT(v_sfx, LPAD(seq, 20, '0')), v_a, v_u, 'web', CONCAT(v_sfx, '-', seq),
           UNHEX(SHA2(CONCAT(v_sfx, '-', seq), 256)),
           ELT(seq, 'active', 'unregistered', 'inactive', 'expired', 'active'),
           IF(seq = 5, 0, 1),
           ELT(seq, '', 'device unregistered', 'device not active', 'device not active',
               'device has no push permission')
      FROM seq_1_to_5;
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'webpush', 'gone', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    VALUES (v_m, v_missing, v_a, 5, v_now);

  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);

  IF NOT COALESCE((SELECT d.state = 'sending' AND d.lease_owner = v_owner
                     FROM deliveries d JOIN devices v ON v.id = d.device_id
                    WHERE d.message_id = v_m AND v.info = ''), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim did not take the delivery to the active device';
  END IF;
  SET v_why = (SELECT CONCAT(v.status, ' device ended as ', d.state, ' / ', IFNULL(d.reason, 'NULL'))
                 FROM deliveries d JOIN devices v ON v.id = d.device_id
                WHERE d.message_id = v_m AND v.info <> ''
                  AND NOT (d.state = 'gone' AND d.reason = v.info AND d.attempts = 0
                           AND d.lease_owner IS NULL AND d.lease_until IS NULL)
                LIMIT 1);
  IF v_why IS NOT NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
  END IF;
  IF NOT COALESCE((SELECT state = 'gone' AND reason = 'device unregistered' AND attempts = 0
                     FROM deliveries WHERE message_id = v_m AND device_id = v_missing), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the delivery to a removed device was not marked gone';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM devices WHERE app_id = v_a
                      AND status = ELT(CAST(RIGHT(uid, 1) AS UNSIGNED), 'active', 'unregistered', 'inactive', 'expired', 'active')) = 5, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the claim changed a device''s status';
  END IF;
END //
DELIMITER ;
