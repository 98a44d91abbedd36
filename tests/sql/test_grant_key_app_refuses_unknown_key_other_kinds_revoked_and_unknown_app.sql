-- Behaviour: hd_grant_key_app refuses, with SQLSTATE 45000, an unknown or NULL key, a
-- key that is not a user_token key, a revoked key, and an unknown app.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_ut BIGINT UNSIGNED;
  DECLARE v_srv BIGINT UNSIGNED;
  DECLARE v_rev BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);
  DECLARE v_missing_k BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM api_keys);
  DECLARE v_missing_a BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM apps);

  CALL hd_create_tenant(CONCAT('test-grant-misuse-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-grant-misuse-', v_sfx), v_a, v_app_uid);
  CALL hd_issue_key('user_token', v_t, NULL, NULL, v_ut, v_p);
  CALL hd_issue_key('server', v_t, v_a, NULL, v_srv, v_p);
  CALL hd_issue_key('user_token', v_t, NULL, NULL, v_rev, v_p);
  CALL hd_revoke_key(v_rev);

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_grant_key_app(v_missing_k, v_a);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_grant_key_app: unknown key ', v_missing_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_grant_key_app accepted an unknown key';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_grant_key_app(NULL, v_a);
  END;
  IF NOT COALESCE(v_err = 'hd_grant_key_app: key id is required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_grant_key_app accepted a NULL key';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_grant_key_app(v_srv, v_a);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_grant_key_app: key ', v_srv, ' is a server key; only user_token keys are granted apps'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_grant_key_app granted an app to a server key';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_grant_key_app(v_rev, v_a);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_grant_key_app: key ', v_rev, ' is revoked'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_grant_key_app granted an app to a revoked key';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_grant_key_app(v_ut, v_missing_a);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_grant_key_app: unknown app ', v_missing_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_grant_key_app accepted an unknown app';
  END IF;

  IF (SELECT COUNT(*) FROM key_app_grants WHERE key_id IN (v_ut, v_srv, v_rev)) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_grant_key_app stored a grant';
  END IF;
END //
DELIMITER ;
