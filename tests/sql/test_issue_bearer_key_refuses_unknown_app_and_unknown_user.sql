-- Behaviour: hd_issue_bearer_key refuses an unknown app, an empty external id, and an
-- external id that is not a user of that app (even one that is a user of another
-- app) with SQLSTATE 45000; no key is stored.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_b BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);
  DECLARE v_missing_a BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM apps);

  CALL hd_create_tenant(CONCAT('test-bearer-misuse-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-bearer-misuse-a-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-bearer-misuse-b-', v_sfx), v_b, v_app_uid);
  CALL hd_create_app_user(v_b, 'only-in-b', NULL, v_user_uid);

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_issue_bearer_key(v_missing_a, 'only-in-b', NULL, v_k, v_p);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_issue_bearer_key: unknown app ', v_missing_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_issue_bearer_key accepted an unknown app';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_issue_bearer_key(v_a, '', NULL, v_k, v_p);
  END;
  IF NOT COALESCE(v_err = 'hd_issue_bearer_key: external id must not be empty', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_issue_bearer_key accepted an empty external id';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_issue_bearer_key(v_a, 'only-in-b', NULL, v_k, v_p);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_issue_bearer_key: app ', v_a, ' has no user with external id ''only-in-b'''), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_issue_bearer_key bound a key to a user of another app';
  END IF;

  IF (SELECT COUNT(*) FROM api_keys WHERE tenant_id = v_t) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_issue_bearer_key stored a key';
  END IF;
END //
DELIMITER ;
