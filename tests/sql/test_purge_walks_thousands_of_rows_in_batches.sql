-- Behaviour: hd_purge finishes the job across batch boundaries: 1203 old messages
-- sharing one created_at (more than two message batches, ties ordered by id) and a
-- broadcast of 12000 deliveries (more than two delivery batches) are all deleted,
-- except the one message in the middle that still has a queued delivery.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
SET SESSION max_recursive_iterations = 100000;
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_old DATETIME(6) DEFAULT UTC_TIMESTAMP(6) - INTERVAL 40 DAY;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_big BIGINT UNSIGNED;

  CALL hd_create_tenant(CONCAT('test-purge-batches-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-purge-batches-', v_sfx), v_a, v_app_uid);

  INSERT INTO messages (app_id, source, title, schedule_at, created_at)
  WITH RECURSIVE seq (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1203)
  SELECT v_a, 'developer', CONCAT('m', n), v_old, v_old FROM seq;
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, updated_at)
  SELECT id, 1, v_a, IF(title = 'm700', 'queued', 'delivered'), v_old, v_old
    FROM messages WHERE app_id = v_a;

  INSERT INTO messages (app_id, source, title, schedule_at, created_at)
  VALUES (v_a, 'webpush', 'broadcast', v_old, v_old);
  SET v_big = LAST_INSERT_ID();
  INSERT INTO deliveries (message_id, device_id, app_id, state, due_at, updated_at)
  WITH RECURSIVE seq (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 12000)
  SELECT v_big, n, v_a, IF(n % 3 = 0, 'gone', 'delivered'), v_old, v_old FROM seq;

  IF NOT COALESCE((SELECT COUNT(*) FROM messages WHERE app_id = v_a) = 1204
                  AND (SELECT COUNT(*) FROM deliveries WHERE app_id = v_a) = 13203, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'test set-up did not store 1204 messages and 13203 deliveries';
  END IF;

  CALL hd_purge(30);

  IF NOT COALESCE((SELECT GROUP_CONCAT(title) FROM messages WHERE app_id = v_a) = 'm700', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'after hd_purge the app does not hold exactly message m700';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) = 1 AND MIN(state) = 'queued' FROM deliveries WHERE app_id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'after hd_purge the app does not hold exactly the queued delivery';
  END IF;
END //
DELIMITER ;
