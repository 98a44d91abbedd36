-- Behaviour: a user_token key is issued for the tenant alone (app_id NULL, plaintext
-- 'hd_ut_...') and starts with no granted app; naming an app when issuing one is
-- refused with SQLSTATE 45000.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);

  CALL hd_create_tenant(CONCAT('test-user-token-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-user-token-', v_sfx), v_a, v_app_uid);

  CALL hd_issue_key('user_token', v_t, NULL, 'analyst', v_k, v_p);
  IF NOT COALESCE(CAST(v_p AS BINARY) REGEXP '^hd_ut_[0-9a-f]{48}$', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'user_token plaintext is not hd_ut_ + 48 hex';
  END IF;
  IF NOT COALESCE((SELECT kind = 'user_token' AND tenant_id = v_t AND app_id IS NULL
                          AND key_hash = UNHEX(SHA2(v_p, 256))
                     FROM api_keys WHERE id = v_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'user_token key row does not match the call';
  END IF;
  IF (SELECT COUNT(*) FROM key_app_grants WHERE key_id = v_k) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a new user_token key already has granted apps';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_issue_key('user_token', v_t, v_a, NULL, v_k, v_p);
  END;
  IF NOT COALESCE(v_err LIKE 'hd_issue_key: a user_token key belongs to the tenant: app id must be NULL%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_issue_key accepted an app for a user_token key';
  END IF;
  IF (SELECT COUNT(*) FROM api_keys WHERE tenant_id = v_t) <> 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the refused user_token key was stored';
  END IF;
END //
DELIMITER ;
