-- Behaviour: hd_finish_delivery with outcome 'gone' makes the delivery 'gone' and
-- marks its device 'unregistered' when the device was last active at or before
-- p_gone_since (APNs's 410 timestamp) or, with a NULL p_gone_since, at any time up
-- to now; a device that registered again after p_gone_since stays active (the
-- delivery is still gone: that token was refused).
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
  DECLARE v_410_at DATETIME(6);
  DECLARE v_why VARCHAR(200);

  SET v_410_at = v_now - INTERVAL 1 HOUR;
  CALL hd_create_tenant(CONCAT('test-finish-gone-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-gone-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  -- info: the device's expected status afterwards, and whether p_gone_since is given.
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash, last_active_at, info)
    SELECT CONCAT(v_sfx, LPAD(seq, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-', seq),
           UNHEX(SHA2(CONCAT(v_sfx, '-', seq), 256)),
           ELT(seq, v_410_at - INTERVAL 1 DAY, v_410_at, v_410_at + INTERVAL 1 SECOND,
               v_now - INTERVAL 1 SECOND),
           ELT(seq, 'unregistered, since given', 'unregistered, since given',
               'active, since given', 'unregistered, since NULL')
      FROM seq_1_to_4;
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'gone', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);

  BEGIN
    DECLARE v_done TINYINT DEFAULT 0;
    DECLARE v_id BIGINT UNSIGNED;
    DECLARE v_info TEXT;
    DECLARE c CURSOR FOR SELECT d.id, v.info FROM deliveries d JOIN devices v ON v.id = d.device_id
                          WHERE d.message_id = v_m;
    DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = 1;
    OPEN c;
    finish: LOOP
      FETCH c INTO v_id, v_info;
      IF v_done THEN
        LEAVE finish;
      END IF;
      CALL hd_finish_delivery(v_id, v_owner, 'gone', 410, 'Unregistered', NULL,
                              IF(v_info LIKE '%since NULL', NULL, v_410_at), 5);
    END LOOP;
    CLOSE c;
  END;

  IF NOT COALESCE((SELECT COUNT(*) FROM deliveries
                    WHERE message_id = v_m AND state = 'gone' AND provider_status = 410
                      AND reason = 'Unregistered' AND lease_owner IS NULL) = 4, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a gone outcome did not make every delivery gone with its status and reason';
  END IF;
  SET v_why = (SELECT CONCAT('device last active ', last_active_at, ' (', info, ') ended ', status)
                 FROM devices WHERE app_id = v_a AND info NOT LIKE CONCAT(status, ',%') LIMIT 1);
  IF v_why IS NOT NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
  END IF;
END //
DELIMITER ;
