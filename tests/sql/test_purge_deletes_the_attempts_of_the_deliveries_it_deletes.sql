-- Behaviour: hd_purge deletes the delivery_attempts rows of the deliveries it purges
-- (6000 here, more than one of its 5000-row batches) and keeps the attempts of the
-- deliveries it keeps; no attempt row outlives its delivery.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_old DATETIME(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_old_m BIGINT UNSIGNED;
  DECLARE v_new_m BIGINT UNSIGNED;

  SET v_old = v_now - INTERVAL 40 DAY;
  CALL hd_create_tenant(CONCAT('test-purge-attempts-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-purge-attempts-', v_sfx), v_a, v_app_uid);

  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'developer', 'old', v_old, v_old);
  SET v_old_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, attempts, updated_at)
    SELECT v_old_m, seq, v_a, 'delivered', v_old, 3, v_old FROM seq_1_to_2000;
  -- 6000 attempt rows: more than one purge batch of 5000.
  INSERT INTO delivery_attempts (delivery_id, attempt, started_at, finished_at, outcome)
    SELECT d.id, s.seq, v_old, v_old, IF(s.seq = 3, 'delivered', 'retry')
      FROM deliveries d JOIN seq_1_to_3 s WHERE d.message_id = v_old_m;

  INSERT INTO messages (app_id, source, title, schedule_at, created_at) VALUES (v_a, 'developer', 'new', v_now, v_now);
  SET v_new_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, attempts)
    VALUES (v_new_m, 1, v_a, 'delivered', v_now, 1);
  INSERT INTO delivery_attempts (delivery_id, attempt, started_at, finished_at, outcome)
    VALUES (LAST_INSERT_ID(), 1, v_now, v_now, 'delivered');

  CALL hd_purge(30);

  IF EXISTS (SELECT 1 FROM messages WHERE id = v_old_m)
     OR EXISTS (SELECT 1 FROM deliveries WHERE message_id = v_old_m) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge did not purge the old message and its deliveries';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM delivery_attempts t JOIN deliveries d ON d.id = t.delivery_id
                    WHERE d.app_id = v_a) = 1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge did not keep exactly the attempt of the kept delivery';
  END IF;
  IF EXISTS (SELECT 1 FROM delivery_attempts t LEFT JOIN deliveries d ON d.id = t.delivery_id WHERE d.id IS NULL) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'attempt rows outlived their delivery';
  END IF;
END //
DELIMITER ;
