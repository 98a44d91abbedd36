-- Behaviour: hd_issue_key refuses a NULL or unknown tenant, an unknown app, and an
-- app kind (server, secret, client, integration, bearer) without an app, with
-- SQLSTATE 45000 and a message naming the problem; no key is stored.
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
  DECLARE v_missing_t BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM tenants);
  DECLARE v_missing_a BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM apps);
  DECLARE v_kind VARCHAR(20);
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_kinds JSON DEFAULT '["server", "secret", "client", "integration", "bearer"]';
  DECLARE v_why VARCHAR(200);

  CALL hd_create_tenant(CONCAT('test-key-unknown-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-key-unknown-', v_sfx), v_a, v_app_uid);

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_issue_key('server', v_missing_t, v_a, NULL, v_k, v_p);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_issue_key: unknown tenant ', v_missing_t), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_issue_key accepted an unknown tenant';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_issue_key('user_token', NULL, NULL, NULL, v_k, v_p);
  END;
  IF NOT COALESCE(v_err = 'hd_issue_key: tenant id is required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_issue_key accepted a NULL tenant';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_issue_key('integration', v_t, v_missing_a, NULL, v_k, v_p);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_issue_key: unknown app ', v_missing_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_issue_key accepted an unknown app';
  END IF;

  WHILE v_i < JSON_LENGTH(v_kinds) DO
    SET v_kind = JSON_VALUE(v_kinds, CONCAT('$[', v_i, ']'));
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_issue_key(v_kind, v_t, NULL, NULL, v_k, v_p);
    END;
    IF NOT COALESCE(v_err = CONCAT('hd_issue_key: a ', v_kind, ' key needs an app id'), FALSE) THEN
      SET v_why = CONCAT('hd_issue_key issued a ', v_kind, ' key without an app');
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  IF (SELECT COUNT(*) FROM api_keys WHERE tenant_id = v_t OR app_id = v_a) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_issue_key stored a key';
  END IF;
END //
DELIMITER ;
