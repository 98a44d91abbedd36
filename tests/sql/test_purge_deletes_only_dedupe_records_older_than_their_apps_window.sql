-- Behaviour: hd_purge deletes the dedupe records older than their own app's dedupe
-- window and keeps the ones still inside it (each app's window applies to its own
-- records only).
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_short BIGINT UNSIGNED;
  DECLARE v_long BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);

  CALL hd_create_tenant(CONCAT('test-purge-dedupe-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-purge-dedupe-short-', v_sfx), v_short, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-purge-dedupe-long-', v_sfx), v_long, v_app_uid);
  CALL hd_set_dedupe_window(v_short, 60);
  CALL hd_set_dedupe_window(v_long, 86400);

  INSERT INTO dedupe (app_id, dedupe_key, message_id, push_count, created_at) VALUES
    (v_short, 'expired-2-min',  0, 1, v_now - INTERVAL 120 SECOND),
    (v_short, 'live-10-s',      0, 1, v_now - INTERVAL 10 SECOND),
    (v_long,  'live-2-min',     0, 1, v_now - INTERVAL 120 SECOND),
    (v_long,  'live-23-h',      0, 1, v_now - INTERVAL 23 HOUR),
    (v_long,  'expired-2-days', 0, 1, v_now - INTERVAL 2 DAY);

  CALL hd_purge(30);

  IF NOT COALESCE((SELECT GROUP_CONCAT(dedupe_key ORDER BY dedupe_key) FROM dedupe WHERE app_id = v_short)
                  = 'live-10-s', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge kept an expired or deleted a live dedupe record (60 s window)';
  END IF;
  IF NOT COALESCE((SELECT GROUP_CONCAT(dedupe_key ORDER BY dedupe_key) FROM dedupe WHERE app_id = v_long)
                  = 'live-2-min,live-23-h', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge kept an expired or deleted a live dedupe record (1 day window)';
  END IF;
END //
DELIMITER ;
