-- Behaviour: hd_create_app_user refuses a NULL or unknown app, a NULL or empty
-- external id and a malformed email with SQLSTATE 45000; nothing is stored.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_u CHAR(32);
  DECLARE v_missing BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM apps);
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_bad_emails JSON DEFAULT '["no-at-sign", "@example.com", "me@", "a b@example.com", "a@b@c"]';

  CALL hd_create_tenant(CONCAT('test-app-user-misuse-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-app-user-misuse-', v_sfx), v_a, v_app_uid);

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_create_app_user(v_missing, 'x', NULL, v_u);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_create_app_user: unknown app ', v_missing), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_app_user accepted an unknown app';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_create_app_user(NULL, 'x', NULL, v_u);
  END;
  IF NOT COALESCE(v_err = 'hd_create_app_user: app id is required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_app_user accepted a NULL app';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_create_app_user(v_a, '', NULL, v_u);
  END;
  IF NOT COALESCE(v_err = 'hd_create_app_user: external id must not be empty', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_app_user accepted an empty external id';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_create_app_user(v_a, NULL, NULL, v_u);
  END;
  IF NOT COALESCE(v_err = 'hd_create_app_user: external id must not be empty', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_app_user accepted a NULL external id';
  END IF;

  WHILE v_i < JSON_LENGTH(v_bad_emails) DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_create_app_user(v_a, CONCAT('bad-email-', v_i),
                              JSON_VALUE(v_bad_emails, CONCAT('$[', v_i, ']')), v_u);
    END;
    IF NOT COALESCE(v_err LIKE 'hd_create_app_user: bad email %', FALSE) THEN
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_app_user accepted a malformed email';
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  IF (SELECT COUNT(*) FROM app_users WHERE app_id = v_a) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_create_app_user stored a user';
  END IF;
END //
DELIMITER ;
