-- Behaviour: hd_set_quota stores the app's hourly and daily quotas, NULL meaning
-- unlimited (each can be cleared on its own), and touches no other app.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_b BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);

  CALL hd_create_tenant(CONCAT('test-quota-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-quota-a-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-quota-b-', v_sfx), v_b, v_app_uid);

  CALL hd_set_quota(v_a, 1000, 20000);
  IF NOT COALESCE((SELECT quota_hourly = 1000 AND quota_daily = 20000 FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota did not store both quotas';
  END IF;
  IF NOT COALESCE((SELECT quota_hourly IS NULL AND quota_daily IS NULL FROM apps WHERE id = v_b), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota changed another app';
  END IF;

  CALL hd_set_quota(v_a, NULL, 50000);
  IF NOT COALESCE((SELECT quota_hourly IS NULL AND quota_daily = 50000 FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota did not clear the hourly quota alone';
  END IF;

  CALL hd_set_quota(v_a, 4294967295, NULL);
  IF NOT COALESCE((SELECT quota_hourly = 4294967295 AND quota_daily IS NULL FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota did not store the largest hourly quota with no daily quota';
  END IF;

  CALL hd_set_quota(v_a, NULL, NULL);
  IF NOT COALESCE((SELECT quota_hourly IS NULL AND quota_daily IS NULL FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota(NULL, NULL) did not make the app unlimited';
  END IF;
END //
DELIMITER ;
