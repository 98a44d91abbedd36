-- Behaviour: hd_set_quota_plan sets an app's hourly and daily quotas to the seed's
-- plan tiers (starter 100/1,000, professional 1,000/10,000, scale 10,000/100,000, as
-- the view hd_quota_plans lists them); an unknown or NULL plan name (names are exact,
-- lowercase) and an unknown app are refused with SQLSTATE 45000 and leave the quotas
-- as they were.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_missing_a BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM apps);

  IF (SELECT GROUP_CONCAT(CONCAT(plan, ':', hourly, '/', daily) ORDER BY hourly SEPARATOR ' ')
        FROM hd_quota_plans) <> 'starter:100/1000 professional:1000/10000 scale:10000/100000' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_quota_plans does not list the seed''s three tiers';
  END IF;

  CALL hd_create_tenant(CONCAT('test-quota-plan-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-quota-plan-', v_sfx), v_a, v_app_uid);

  CALL hd_set_quota_plan(v_a, 'starter');
  IF NOT COALESCE((SELECT quota_hourly = 100 AND quota_daily = 1000 FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'starter did not set 100/1000';
  END IF;
  CALL hd_set_quota_plan(v_a, 'professional');
  IF NOT COALESCE((SELECT quota_hourly = 1000 AND quota_daily = 10000 FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'professional did not set 1000/10000';
  END IF;
  CALL hd_set_quota_plan(v_a, 'scale');
  IF NOT COALESCE((SELECT quota_hourly = 10000 AND quota_daily = 100000 FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'scale did not set 10000/100000';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_quota_plan(v_a, 'enterprise');
  END;
  IF NOT COALESCE(v_err = 'hd_set_quota_plan: unknown plan ''enterprise'' (want starter, professional or scale)', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota_plan accepted an unknown plan';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_quota_plan(v_a, 'Starter');
  END;
  IF NOT COALESCE(v_err LIKE 'hd_set_quota_plan: unknown plan ''Starter''%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota_plan accepted a plan name in another case';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_quota_plan(v_a, NULL);
  END;
  IF NOT COALESCE(v_err LIKE 'hd_set_quota_plan: unknown plan ''NULL''%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota_plan accepted a NULL plan';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_quota_plan(v_missing_a, 'starter');
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_set_quota_plan: unknown app ', v_missing_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_quota_plan accepted an unknown app';
  END IF;

  IF NOT COALESCE((SELECT quota_hourly = 10000 AND quota_daily = 100000 FROM apps WHERE id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused call changed the quotas';
  END IF;
END //
DELIMITER ;
