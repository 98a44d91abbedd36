-- Behaviour: hd_create_app creates an app of the tenant with the documented defaults
-- and returns its id and a random version-4 UUID (lowercase, RFC 9562 variant),
-- different for every app.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_uid CHAR(36);
  DECLARE v_i INT DEFAULT 0;

  CALL hd_create_tenant(CONCAT('test-create-app-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-create-app-', v_sfx), v_a, v_uid);

  IF NOT COALESCE(v_a IS NOT NULL AND v_uid IS NOT NULL, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_app returned no id or uid';
  END IF;
  IF NOT COALESCE(CAST(v_uid AS BINARY) REGEXP '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'app uid is not a lowercase v4 UUID';
  END IF;
  IF NOT COALESCE((SELECT tenant_id = v_t AND uid = v_uid AND name = CONCAT('test-create-app-', v_sfx)
                          AND push_enabled = 1 AND dedupe_window_s = 600
                          AND quota_hourly IS NULL AND quota_daily IS NULL
                     FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'app row does not match what hd_create_app returned, or defaults differ';
  END IF;

  -- 40 more apps: all uids distinct and all v4 (a time-based UUID() would share
  -- its node part and fail the version check).
  WHILE v_i < 40 DO
    CALL hd_create_app(v_t, CONCAT('test-create-app-', v_sfx, '-', v_i), v_a, v_uid);
    SET v_i = v_i + 1;
  END WHILE;
  IF NOT COALESCE((SELECT COUNT(DISTINCT uid) = 41
                          AND SUM(CAST(uid AS BINARY) REGEXP '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$') = 41
                          AND COUNT(DISTINCT SUBSTR(uid, 25, 12)) = 41
                     FROM apps WHERE tenant_id = v_t), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'app uids are not distinct random v4 UUIDs';
  END IF;
END //
DELIMITER ;
