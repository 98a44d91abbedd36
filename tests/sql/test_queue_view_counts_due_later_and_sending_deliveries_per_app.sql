-- Behaviour: hd_queue shows, per app with pending deliveries, the queued ones due now
-- and due later, those sending and how many of these hold an expired lease, and the
-- age in seconds of the longest-waiting due delivery; finished deliveries are not
-- counted, and an app with nothing pending has no row.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_idle BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_idle_uid CHAR(36);
  DECLARE v_m BIGINT UNSIGNED;
  DECLARE v_row TEXT;

  CALL hd_create_tenant(CONCAT('test-queue-view-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-queue-view-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-queue-view-idle-', v_sfx), v_idle, v_idle_uid);
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_a, 'developer', 'queue', v_now);
  SET v_m = LAST_INSERT_ID();
  -- Device ids need no device rows (no foreign key).
  INSERT INTO deliveries (message_id, device_id, app_id, state, priority, due_at, lease_owner, lease_until) VALUES
    (v_m, 1, v_a, 'queued', 5, v_now - INTERVAL 100 SECOND, NULL, NULL),
    (v_m, 2, v_a, 'queued', 9, v_now - INTERVAL 10 SECOND, NULL, NULL),
    (v_m, 3, v_a, 'queued', 5, v_now + INTERVAL 1 DAY, NULL, NULL),
    (v_m, 4, v_a, 'sending', 5, v_now - INTERVAL 1 HOUR, 'w1', v_now + INTERVAL 1 MINUTE),
    (v_m, 5, v_a, 'sending', 5, v_now - INTERVAL 1 HOUR, 'w2', v_now - INTERVAL 1 MINUTE),
    (v_m, 6, v_a, 'delivered', 5, v_now - INTERVAL 1 HOUR, NULL, NULL);
  INSERT INTO messages (app_id, source, title, schedule_at) VALUES (v_idle, 'developer', 'done', v_now);
  INSERT INTO deliveries (message_id, device_id, app_id, state, priority, due_at)
    VALUES (LAST_INSERT_ID(), 1, v_idle, 'delivered', 5, v_now - INTERVAL 1 HOUR);

  SET v_row = (SELECT CONCAT_WS(' ', queued_due, queued_later, sending, sending_lease_expired)
                 FROM hd_queue WHERE app_uid = v_app_uid AND tenant_id = v_t);
  IF NOT COALESCE(v_row = '2 1 2 1', FALSE) THEN
    SET v_row = CONCAT('hd_queue shows queued_due queued_later sending sending_lease_expired = ',
                       IFNULL(v_row, 'no row'), ', want 2 1 2 1');
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_row;
  END IF;
  IF NOT COALESCE((SELECT oldest_due_age_s BETWEEN 100 AND 160 FROM hd_queue WHERE app_id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_queue does not show the age of the longest-waiting due delivery';
  END IF;
  IF EXISTS (SELECT 1 FROM hd_queue WHERE app_id = v_idle) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_queue shows an app with nothing pending';
  END IF;
END //
DELIMITER ;
