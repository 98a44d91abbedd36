-- Behaviour: hd_create_activity creates an activity of one app user (re-creating a
-- slug renames it and keeps its id), refuses an unknown user, bad slugs and empty
-- names; another user of the app has none of them; hd_set_inbox_subscription sets
-- the app's switch (0/1 only, known apps only; off until set); hd_set_inbox_retention
-- takes 1..36500 days or NULL, and neither setting changes the other.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_u1_uid CHAR(32);
  DECLARE v_u2_uid CHAR(32);
  DECLARE v_u1 BIGINT UNSIGNED;
  DECLARE v_u2 BIGINT UNSIGNED;
  DECLARE v_id1 BIGINT UNSIGNED;
  DECLARE v_id2 BIGINT UNSIGNED;
  DECLARE v_err TEXT;
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_bad JSON DEFAULT '[["", "n"], ["has space", "n"], ["slash/slug", "n"], [null, "n"], ["ok", ""], ["ok", "   "], ["ok", null]]';

  CALL hd_create_tenant(CONCAT('test-inbox-act-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-inbox-act-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'one', NULL, v_u1_uid);
  CALL hd_create_app_user(v_a, 'two', NULL, v_u2_uid);
  SET v_u1 = (SELECT id FROM app_users WHERE uid = v_u1_uid);
  SET v_u2 = (SELECT id FROM app_users WHERE uid = v_u2_uid);

  CALL hd_create_activity(v_u1, 'deploy', 'Deploy', v_id1);
  CALL hd_create_activity(v_u1, 'deploy', 'Deploy v2', v_id2);
  IF NOT COALESCE(v_id1 = v_id2 AND (SELECT name FROM inbox_activities WHERE id = v_id1) = 'Deploy v2', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_activity did not rename the existing slug in place';
  END IF;
  IF (SELECT COUNT(*) FROM inbox_activities WHERE app_user_id = v_u2) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'an activity of one user appeared for another';
  END IF;

  -- No subscription until switched on.
  IF EXISTS (SELECT 1 FROM inbox_settings WHERE app_id = v_a) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a new app has inbox settings';
  END IF;
  CALL hd_set_inbox_subscription(v_a, 1);
  IF NOT COALESCE((SELECT subscription_active FROM inbox_settings WHERE app_id = v_a) = 1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_inbox_subscription did not switch it on';
  END IF;
  IF EXISTS (SELECT 1 FROM inbox_activities WHERE app_user_id = v_u2 AND slug = 'deploy') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'another user sees the slug';
  END IF;

  WHILE v_i < JSON_LENGTH(v_bad) DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_create_activity(v_u1, JSON_VALUE(v_bad, CONCAT('$[', v_i, '][0]')),
                              JSON_VALUE(v_bad, CONCAT('$[', v_i, '][1]')), v_id1);
    END;
    IF NOT COALESCE(v_err LIKE 'hd_create_activity: %', FALSE) THEN
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_activity accepted a bad slug or name';
    END IF;
    SET v_i = v_i + 1;
  END WHILE;
  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_create_activity(v_u2 + 1000000, 'x', 'X', v_id1);
  END;
  IF NOT COALESCE(v_err LIKE 'hd_create_activity: unknown app user%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_activity accepted an unknown user';
  END IF;
  IF (SELECT COUNT(*) FROM inbox_activities WHERE app_id = v_a) <> 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_create_activity stored an activity';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_inbox_subscription(v_a, 2);
  END;
  IF v_err IS NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_inbox_subscription accepted 2';
  END IF;
  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_inbox_subscription(v_a + 1000000, 1);
  END;
  IF v_err IS NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_inbox_subscription accepted an unknown app';
  END IF;
  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_inbox_retention(v_a, 0);
  END;
  IF v_err IS NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_inbox_retention accepted 0 days';
  END IF;
  CALL hd_set_inbox_retention(v_a, 30);
  CALL hd_set_inbox_retention(v_a, NULL);
  IF NOT COALESCE((SELECT retention_days IS NULL AND subscription_active = 1 FROM inbox_settings WHERE app_id = v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'retention and subscription do not keep each other';
  END IF;
END //
DELIMITER ;
