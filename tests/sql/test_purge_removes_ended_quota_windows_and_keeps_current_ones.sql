-- Behaviour: hd_purge(N) deletes quota windows that ended before its cutoff (N days
-- ago) and keeps the current hour's and day's counts, which still decide sends.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_tenant BIGINT UNSIGNED;
  DECLARE v_app BIGINT UNSIGNED;
  DECLARE v_uid CHAR(36);
  DECLARE v_hour DATETIME DEFAULT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00');

  CALL hd_create_tenant(CONCAT('purge quota ', HEX(RANDOM_BYTES(6))), v_tenant);
  CALL hd_create_app(v_tenant, 'purge quota app', v_app, v_uid);
  INSERT INTO quota_usage (app_id, period, window_start, used) VALUES
    (v_app, 'hour', v_hour, 3),
    (v_app, 'day', DATE(UTC_TIMESTAMP()), 3),
    (v_app, 'hour', v_hour - INTERVAL 40 DAY, 7),
    (v_app, 'day', DATE(UTC_TIMESTAMP()) - INTERVAL 40 DAY, 7);
  CALL hd_purge(30);
  IF (SELECT COUNT(*) FROM quota_usage WHERE app_id = v_app AND used = 7) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge kept quota windows that ended long ago';
  END IF;
  IF (SELECT COUNT(*) FROM quota_usage WHERE app_id = v_app AND used = 3) <> 2 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge deleted the current quota windows';
  END IF;
END //
DELIMITER ;
