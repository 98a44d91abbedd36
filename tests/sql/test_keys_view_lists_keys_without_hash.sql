-- Behaviour: hd_keys lists every key of a tenant with id, kind, tenant, app uid
-- (NULL for user_token), app user, label, created_at, revoked_at and an active flag,
-- and has no column carrying the hash.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_srv BIGINT UNSIGNED;
  DECLARE v_ut BIGINT UNSIGNED;
  DECLARE v_cli BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);

  CALL hd_create_tenant(CONCAT('test-keys-view-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-keys-view-', v_sfx), v_a, v_app_uid);
  CALL hd_issue_key('server', v_t, v_a, 'backend', v_srv, v_p);
  CALL hd_issue_key('user_token', v_t, NULL, 'analyst', v_ut, v_p);
  CALL hd_issue_key('client', v_t, v_a, 'web app', v_cli, v_p);
  CALL hd_revoke_key(v_cli);

  IF (SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION)
        FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'hd_keys')
     <> 'id,kind,tenant_id,tenant_name,app_id,app_uid,app_user_uid,app_user_external_id,label,created_at,revoked_at,active' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_keys columns are not the documented ones';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) FROM hd_keys WHERE tenant_id = v_t) = 3, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_keys does not list the tenant''s three keys';
  END IF;
  IF NOT COALESCE((SELECT kind = 'server' AND app_id = v_a AND app_uid = v_app_uid AND label = 'backend'
                          AND tenant_name = CONCAT('test-keys-view-', v_sfx)
                          AND created_at IS NOT NULL AND revoked_at IS NULL AND active = 1
                     FROM hd_keys WHERE id = v_srv), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_keys row of the server key is wrong';
  END IF;
  IF NOT COALESCE((SELECT kind = 'user_token' AND app_id IS NULL AND app_uid IS NULL AND active = 1
                     FROM hd_keys WHERE id = v_ut), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_keys row of the user_token key is wrong';
  END IF;
  IF NOT COALESCE((SELECT kind = 'client' AND revoked_at IS NOT NULL AND active = 0
                     FROM hd_keys WHERE id = v_cli), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_keys row of the revoked client key is wrong';
  END IF;
END //
DELIMITER ;
