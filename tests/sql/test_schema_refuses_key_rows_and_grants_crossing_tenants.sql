-- Behaviour: even rows written by hand, bypassing the procedures, cannot bind a key
-- to another tenant's app, a key to a user of another app, or grant a user_token key
-- another tenant's app: the foreign keys of migration 0002 refuse them (ER 1452).
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_errno INT;
  DECLARE v_ta BIGINT UNSIGNED;
  DECLARE v_tb BIGINT UNSIGNED;
  DECLARE v_aa BIGINT UNSIGNED;
  DECLARE v_aa2 BIGINT UNSIGNED;
  DECLARE v_ab BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);

  CALL hd_create_tenant(CONCAT('test-fk-a-', v_sfx), v_ta);
  CALL hd_create_tenant(CONCAT('test-fk-b-', v_sfx), v_tb);
  CALL hd_create_app(v_ta, CONCAT('test-fk-a-', v_sfx), v_aa, v_app_uid);
  CALL hd_create_app(v_ta, CONCAT('test-fk-a2-', v_sfx), v_aa2, v_app_uid);
  CALL hd_create_app(v_tb, CONCAT('test-fk-b-', v_sfx), v_ab, v_app_uid);
  CALL hd_create_app_user(v_aa2, 'u', NULL, v_user_uid);
  CALL hd_issue_key('user_token', v_ta, NULL, NULL, v_k, v_p);

  SET v_errno = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION GET DIAGNOSTICS CONDITION 1 v_errno = MYSQL_ERRNO;
    INSERT INTO api_keys (key_hash, kind, tenant_id, app_id)
    VALUES (UNHEX(SHA2(RANDOM_BYTES(16), 256)), 'integration', v_ta, v_ab);
  END;
  IF NOT COALESCE(v_errno = 1452, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'api_keys accepted a key of tenant A for an app of tenant B';
  END IF;

  SET v_errno = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION GET DIAGNOSTICS CONDITION 1 v_errno = MYSQL_ERRNO;
    INSERT INTO api_keys (key_hash, kind, tenant_id, app_id, app_user_id)
    VALUES (UNHEX(SHA2(RANDOM_BYTES(16), 256)), 'bearer', v_ta, v_aa,
            (SELECT id FROM app_users WHERE uid = v_user_uid));
  END;
  IF NOT COALESCE(v_errno = 1452, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'api_keys accepted a bearer key of one app bound to a user of another';
  END IF;

  SET v_errno = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION GET DIAGNOSTICS CONDITION 1 v_errno = MYSQL_ERRNO;
    INSERT INTO key_app_grants (key_id, app_id, tenant_id) VALUES (v_k, v_ab, v_ta);
  END;
  IF NOT COALESCE(v_errno = 1452, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'key_app_grants accepted an app of another tenant (key tenant)';
  END IF;

  SET v_errno = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION GET DIAGNOSTICS CONDITION 1 v_errno = MYSQL_ERRNO;
    INSERT INTO key_app_grants (key_id, app_id, tenant_id) VALUES (v_k, v_ab, v_tb);
  END;
  IF NOT COALESCE(v_errno = 1452, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'key_app_grants accepted an app of another tenant (app tenant)';
  END IF;

  IF (SELECT COUNT(*) FROM api_keys WHERE tenant_id = v_ta) <> 1
     OR (SELECT COUNT(*) FROM key_app_grants WHERE key_id = v_k) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused cross-tenant row was stored';
  END IF;
END //
DELIMITER ;
