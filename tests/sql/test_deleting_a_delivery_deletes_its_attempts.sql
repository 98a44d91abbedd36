-- Behaviour: delivery_attempts rows go with their delivery whoever deletes it (e.g.
-- DELETE /devices removing queued deliveries that were already retried), and an
-- attempt row cannot name a delivery that does not exist.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_m BIGINT UNSIGNED;
  DECLARE v_id BIGINT UNSIGNED;
  DECLARE v_errno INT;

  CALL hd_create_tenant(CONCAT('test-attempts-cascade-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-attempts-cascade-', v_sfx), v_a, v_app_uid);
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'cascade', v_now);
  SET v_m = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, attempts)
    VALUES (v_m, 1, v_a, 'queued', v_now + INTERVAL 1 MINUTE, 2);
  SET v_id = LAST_INSERT_ID();
  INSERT INTO delivery_attempts (delivery_id, attempt, started_at, finished_at, outcome, provider_status)
    VALUES (v_id, 1, v_now, v_now, 'retry', 503), (v_id, 2, v_now, v_now, 'retry', 503);

  DELETE FROM deliveries WHERE id = v_id;
  IF EXISTS (SELECT 1 FROM delivery_attempts WHERE delivery_id = v_id) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'deleting a delivery left its attempts behind';
  END IF;

  SET v_errno = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION GET DIAGNOSTICS CONDITION 1 v_errno = MYSQL_ERRNO;
    INSERT INTO delivery_attempts (delivery_id, attempt, started_at, finished_at, outcome)
      VALUES (v_id, 3, v_now, v_now, 'retry');
  END;
  IF NOT COALESCE(v_errno = 1452, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'an attempt row was accepted for a delivery that does not exist';
  END IF;
END //
DELIMITER ;
