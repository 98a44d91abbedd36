-- Behaviour: hd_set_quota refuses a quota of 0, a daily quota below the hourly one,
-- and a NULL or unknown app with SQLSTATE 45000, and a negative quota with an
-- out-of-range error; the app's quotas stay as they were.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_errno INT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_missing_a BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM apps);

  CALL hd_create_tenant(CONCAT('test-quota-misuse-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-quota-misuse-', v_sfx), v_a, v_app_uid);
  CALL hd_set_quota(v_a, 10, 100);

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_quota(v_a, 0, 100);
  END;
  IF NOT COALESCE(v_err LIKE 'hd_set_quota: a quota must be at least 1%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota accepted an hourly quota of 0';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_quota(v_a, NULL, 0);
  END;
  IF NOT COALESCE(v_err LIKE 'hd_set_quota: a quota must be at least 1%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota accepted a daily quota of 0';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_quota(v_a, 500, 499);
  END;
  IF NOT COALESCE(v_err = 'hd_set_quota: daily quota 499 is below hourly quota 500', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota accepted a daily quota below the hourly one';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_quota(v_missing_a, 1, 1);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_set_quota: unknown app ', v_missing_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota accepted an unknown app';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_quota(NULL, 1, 1);
  END;
  IF NOT COALESCE(v_err = 'hd_set_quota: app id is required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota accepted a NULL app';
  END IF;

  SET v_errno = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION GET DIAGNOSTICS CONDITION 1 v_errno = MYSQL_ERRNO;
    CALL hd_set_quota(v_a, -1, NULL);
  END;
  IF NOT COALESCE(v_errno = 1264, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota accepted a negative quota';
  END IF;

  IF NOT COALESCE((SELECT quota_hourly = 10 AND quota_daily = 100 FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_set_quota changed the quotas';
  END IF;
END //
DELIMITER ;
