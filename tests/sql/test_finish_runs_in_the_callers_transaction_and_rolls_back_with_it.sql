-- Behaviour: hd_finish_delivery neither commits nor starts a transaction: a batch of
-- reports between the caller's START TRANSACTION and ROLLBACK leaves the deliveries
-- sending, the device active and no attempt recorded; the same batch committed
-- applies every report.
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
  DECLARE v_first BIGINT UNSIGNED;
  DECLARE v_second BIGINT UNSIGNED;
  DECLARE v_pass INT DEFAULT 1;

  CALL hd_create_tenant(CONCAT('test-finish-transaction-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-finish-transaction-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user', NULL, v_user_uid);
  SET v_u = (SELECT id FROM app_users WHERE uid = v_user_uid);
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash, last_active_at)
    SELECT CONCAT(v_sfx, LPAD(seq, 20, '0')), v_a, v_u, 'ios', CONCAT(v_sfx, '-', seq),
           UNHEX(SHA2(CONCAT(v_sfx, '-', seq), 256)), v_now - INTERVAL 1 DAY
      FROM seq_1_to_2;
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'batch', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
    SELECT v_m, id, v_a, 5, v_now FROM devices WHERE app_id = v_a;
  SET v_first = (SELECT MIN(id) FROM deliveries WHERE message_id = v_m);
  SET v_second = (SELECT MAX(id) FROM deliveries WHERE message_id = v_m);
  CALL hd_claim_deliveries(v_owner, 60, 10, v_m);

  WHILE v_pass <= 2 DO
    START TRANSACTION;
    CALL hd_finish_delivery(v_first, v_owner, 'delivered', 200, NULL, NULL, NULL, 5);
    CALL hd_finish_delivery(v_second, v_owner, 'gone', 410, 'Unregistered', NULL, NULL, 5);
    IF NOT @@in_transaction THEN
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_finish_delivery ended the caller''s transaction';
    END IF;
    IF v_pass = 1 THEN
      ROLLBACK;
      IF NOT COALESCE((SELECT COUNT(*) FROM deliveries
                        WHERE message_id = v_m AND state = 'sending' AND lease_owner = v_owner) = 2, FALSE)
         OR EXISTS (SELECT 1 FROM devices WHERE app_id = v_a AND status <> 'active')
         OR EXISTS (SELECT 1 FROM delivery_attempts WHERE delivery_id IN (v_first, v_second)) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a rolled back batch of reports left changes behind';
      END IF;
    ELSE
      COMMIT;
    END IF;
    SET v_pass = v_pass + 1;
  END WHILE;

  IF NOT COALESCE((SELECT state = 'delivered' FROM deliveries WHERE id = v_first)
                  AND (SELECT state = 'gone' FROM deliveries WHERE id = v_second)
                  AND (SELECT COUNT(*) FROM devices WHERE app_id = v_a AND status = 'unregistered') = 1
                  AND (SELECT COUNT(*) FROM delivery_attempts WHERE delivery_id IN (v_first, v_second)) = 2, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a committed batch of reports did not apply every report';
  END IF;
END //
DELIMITER ;
